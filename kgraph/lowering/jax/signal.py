"""JAX rules for Fourier transforms."""

import jax.numpy as jnp

from kgraph.lowering.jax.registry import jax_rule

_FFT = {(1, False): jnp.fft.fft, (1, True): jnp.fft.ifft, (2, False): jnp.fft.fft2, (2, True): jnp.fft.ifft2}


@jax_rule("fft")
def _fft(real, imag, rank, inverse):
    out = _FFT[rank, inverse](real + 1j * imag)
    return jnp.real(out).astype(real.dtype), jnp.imag(out).astype(real.dtype)


@jax_rule("rfft")
def _rfft(x, fft_length):
    out = jnp.fft.rfft(x, n=fft_length, axis=-1)
    return jnp.real(out).astype(x.dtype), jnp.imag(out).astype(x.dtype)


@jax_rule("irfft")
def _irfft(real, imag, fft_length):
    return jnp.fft.irfft(real + 1j * imag, n=fft_length, axis=-1).astype(real.dtype)
