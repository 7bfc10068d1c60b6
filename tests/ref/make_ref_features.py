#!/usr/bin/python3
"""Reference log-mel and MFCC features for tests/test_features.c.

Run with Debian's python3-torch:  /usr/bin/python3 tests/ref/make_ref_features.py
(from the project root; writes next to this script).

An implementation independent of libcortex: torch.stft for the spectrum, and
the HTK mel filterbank and orthonormal DCT-II written out from their formulas
(torchaudio is not installed here), each cross-checked in float64 against a
second route (numpy framing + rfft, FFT-based DCT). Everything is computed in
float64 from the float32 signal; the C code works in float32 and must agree
to 1e-4 relative error.

Files (little-endian float32, row-major frames x features):
  feat_signal.f32       8000 samples: chirp 100 Hz -> 7 kHz, tones 440 Hz and
                        1800 Hz, a little noise (0.5 s at 16 kHz)
  feat_logmel_a.f32     case A: defaults at 16 kHz, 48 x 40
  feat_mfcc_a.f32       case A with kind=mfcc n_mfcc=13, 48 x 13
  feat_logmel_b.f32     case B: the same samples taken as 8 kHz, win 300,
                        hop 128, n_fft 512, 26 mels 50-3800 Hz, floor 1e-5, 61 x 26
  feat_mfcc_b.f32       case B with n_mfcc=20, 61 x 20
"""
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))

CASES = {
    "a": dict(sample_rate=16000, win=400, hop=160, n_fft=512, n_mels=40, fmin=20.0,
              fmax=8000.0, log_floor=1e-6, n_mfcc=13),
    "b": dict(sample_rate=8000, win=300, hop=128, n_fft=512, n_mels=26, fmin=50.0,
              fmax=3800.0, log_floor=1e-5, n_mfcc=20),
}


def make_signal():
    sr, n = 16000, 8000
    t = np.arange(n) / sr
    f0, f1, dur = 100.0, 7000.0, n / sr
    chirp = np.sin(2 * np.pi * (f0 * t + 0.5 * (f1 - f0) / dur * t * t))
    rng = np.random.default_rng(1234)
    x = (0.3 * chirp + 0.2 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * np.sin(2 * np.pi * 1800.0 * t)
         + 0.01 * rng.standard_normal(n))
    return x.astype(np.float32)


def hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + f / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


def mel_filterbank(sr, n_fft, n_mels, fmin, fmax):
    """HTK triangles, peak 1, at the bin frequencies k * sr / n_fft."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    pts = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, freqs.size))
    for m in range(n_mels):
        up = (freqs - pts[m]) / (pts[m + 1] - pts[m])
        down = (pts[m + 2] - freqs) / (pts[m + 2] - pts[m + 1])
        fb[m] = np.maximum(0.0, np.minimum(up, down))
    assert (fb.max(axis=1) > 0).all(), "a mel filter covers no bin"
    return fb


def power_torch(x, c):
    """torch.stft with center=False. torch centres a win-long window inside
    the n_fft frame; padding the signal by that offset makes frame t start
    at sample t*hop, as in Cortex (|X|^2 does not see the shift)."""
    win, n_fft, hop = c["win"], c["n_fft"], c["hop"]
    left = (n_fft - win) // 2
    xt = torch.from_numpy(x.astype(np.float64))
    xt = torch.cat([torch.zeros(left, dtype=xt.dtype), xt,
                    torch.zeros(n_fft - win - left, dtype=xt.dtype)])
    window = torch.hann_window(win, periodic=True, dtype=torch.float64)
    spec = torch.stft(xt, n_fft, hop_length=hop, win_length=win, window=window, center=False,
                      return_complex=True)
    return (spec.abs() ** 2).T.numpy()  # frames x bins


def power_numpy(x, c):
    win, n_fft, hop = c["win"], c["n_fft"], c["hop"]
    n_frames = 1 + (x.size - win) // hop
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(win) / win)
    frames = np.stack([x[t * hop:t * hop + win].astype(np.float64) * w for t in range(n_frames)])
    return np.abs(np.fft.rfft(frames, n=n_fft, axis=1)) ** 2


def dct2_ortho_matrix(n_out, n):
    k = np.arange(n_out)[:, None]
    m = np.arange(n)[None, :]
    d = np.sqrt(2.0 / n) * np.cos(np.pi * k * (m + 0.5) / n)
    d[0] *= np.sqrt(0.5)
    return d


def dct2_ortho_fft(v):
    """DCT-II along the last axis through an FFT of the even extension."""
    n = v.shape[-1]
    ext = np.concatenate([v, v[..., ::-1]], axis=-1)
    k = np.arange(n)
    y = np.real(np.fft.fft(ext, axis=-1)[..., :n] * np.exp(-1j * np.pi * k / (2 * n))) / 2
    scale = np.full(n, np.sqrt(2.0 / n))
    scale[0] = np.sqrt(1.0 / n)
    return y * scale


def main():
    x = make_signal()
    x.astype("<f4").tofile(os.path.join(HERE, "feat_signal.f32"))
    for name, c in CASES.items():
        p = power_torch(x, c)
        p2 = power_numpy(x, c)
        assert np.allclose(p, p2, rtol=1e-9, atol=1e-12 * p.max()), "stft routes disagree"
        fb = mel_filterbank(c["sample_rate"], c["n_fft"], c["n_mels"], c["fmin"], c["fmax"])
        logmel = np.log(p @ fb.T + c["log_floor"])
        mfcc = logmel @ dct2_ortho_matrix(c["n_mfcc"], c["n_mels"]).T
        assert np.allclose(mfcc, dct2_ortho_fft(logmel)[:, :c["n_mfcc"]], atol=1e-9)
        logmel.astype("<f4").tofile(os.path.join(HERE, f"feat_logmel_{name}.f32"))
        mfcc.astype("<f4").tofile(os.path.join(HERE, f"feat_mfcc_{name}.f32"))
        print(f"case {name}: {logmel.shape[0]} frames, logmel range "
              f"[{logmel.min():.3f}, {logmel.max():.3f}], mel energy min "
              f"{(p @ fb.T).min():.3g}")


if __name__ == "__main__":
    main()
