"""Sequence data for the conditional models: synthetic video and motion, and motion files (BVH, CSV).

Re-exported by :mod:`deepbelief.datasets`, the public name of the data loaders.
"""
import math
from pathlib import Path

import numpy as np
from sklearn.utils import check_random_state

from .._validation import check_count
from .files import DataError, read_csv


def make_bouncing_balls(n_sequences, n_frames, size=30, n_balls=3, radius=1.2, speed=0.5, random_state=None):
    """Videos of balls bouncing in a box (the synthetic benchmark of Sutskever & Hinton 2007).

    The balls move in a 10 x 10 box, reflect off its walls and collide elastically with each other (equal
    masses); each frame renders every ball as a soft disk exp(-(d^2 / radius^2)^4) on a ``size`` x ``size``
    grid, summed and clipped to [0, 1].

    Parameters
    ----------
    n_sequences, n_frames : int
    size : int, default=30
        Frame side in pixels.
    n_balls : int, default=3
    radius : float, default=1.2
        Ball radius in box units (the box is 10 wide).
    speed : float, default=0.5
        Distance per frame in box units.
    random_state : int, RandomState or None

    Returns
    -------
    videos : ndarray of shape (n_sequences, n_frames, size * size), float32 in [0, 1]; frame t of sequence i
        as an image is ``videos[i, t].reshape(size, size)``.
    """
    n_sequences, n_frames = check_count(n_sequences, "n_sequences", 1), check_count(n_frames, "n_frames", 1)
    size, n_balls = check_count(size, "size", 2), check_count(n_balls, "n_balls", 1)
    box = 10.0
    if not (0 < radius and n_balls * (2 * radius) ** 2 < 0.5 * box**2):
        raise ValueError(f"radius={radius} with n_balls={n_balls} does not fit the 10 x 10 box; use a smaller "
                         "radius or fewer balls")
    rng = check_random_state(random_state)
    centres = (np.arange(size) + 0.5) * box / size
    gx, gy = np.meshgrid(centres, centres, indexing="xy")
    out = np.empty((n_sequences, n_frames, size * size), np.float32)
    for s in range(n_sequences):
        pos = _place_balls(rng, n_balls, radius, box)
        angle = rng.uniform(0, 2 * math.pi, n_balls)
        vel = speed * np.stack([np.cos(angle), np.sin(angle)], 1)
        for t in range(n_frames):
            d2 = (gx[None] - pos[:, 0, None, None]) ** 2 + (gy[None] - pos[:, 1, None, None]) ** 2
            out[s, t] = np.clip(np.exp(-((d2 / radius**2) ** 4)).sum(0), 0, 1).ravel()
            pos, vel = _move(pos, vel, radius, box)
    return out


def _place_balls(rng, n_balls, radius, box):
    for _ in range(10_000):
        pos = rng.uniform(radius, box - radius, (n_balls, 2))
        gaps = np.linalg.norm(pos[:, None] - pos[None], axis=-1) + np.eye(n_balls) * box
        if gaps.min() > 2 * radius:
            return pos
    raise ValueError("could not place the balls without overlap; use a smaller radius or fewer balls")


def _move(pos, vel, radius, box):
    """One time step: move, reflect off the walls, exchange the normal velocities of colliding pairs."""
    pos = pos + vel
    vel = vel.copy()
    low, high = pos < radius, pos > box - radius
    vel[low | high] *= -1
    pos = np.where(low, 2 * radius - pos, np.where(high, 2 * (box - radius) - pos, pos))
    for i in range(len(pos)):
        for j in range(i + 1, len(pos)):
            d = pos[j] - pos[i]
            dist = np.linalg.norm(d)
            if 0 < dist < 2 * radius:
                n = d / dist
                approach = (vel[i] - vel[j]) @ n
                if approach > 0:  # equal masses: swap the velocity components along the line of centres
                    vel[i] -= approach * n
                    vel[j] += approach * n
    return pos, vel


WALKING_CHANNELS = ("hip_left", "hip_right", "knee_left", "knee_right", "ankle_left", "ankle_right",
                    "shoulder_left", "shoulder_right", "elbow_left", "elbow_right", "spine_twist", "root_height")


def make_walking_motion(n_sequences, n_frames, noise=0.02, frames_per_cycle=(8, 16), random_state=None):
    """Joint angles (radians) of a walking skeleton driven by two coupled phase oscillators, plus noise.

    Each sequence has its own cadence and stride length. The leg oscillator's frequency drifts slowly (a random
    walk around the sequence's cadence); the arm oscillator is pulled towards anti-phase with the legs
    (Kuramoto coupling) and has its own phase noise. The joints are non-linear functions of the phases: knees
    flex only during the swing, ankles follow the second harmonic, the root height bobs twice per stride.
    Channels: ``WALKING_CHANNELS`` (12).

    Parameters
    ----------
    n_sequences, n_frames : int
    noise : float, default=0.02
        Standard deviation of the observation noise on every angle.
    frames_per_cycle : (low, high), default=(8, 16)
        Each sequence's stride lasts a number of frames drawn uniformly from this range (about 10 frames per second
        for human walking). Finer sampling makes every step nearly linear in the previous ones.
    random_state : int, RandomState or None

    Returns
    -------
    motion : ndarray of shape (n_sequences, n_frames, 12), float32
    """
    n_sequences, n_frames = check_count(n_sequences, "n_sequences", 1), check_count(n_frames, "n_frames", 1)
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0; got {noise!r}")
    low, high = frames_per_cycle
    if not 2 < low <= high:
        raise ValueError(f"frames_per_cycle must be (low, high) with 2 < low <= high; got {frames_per_cycle!r}")
    rng = check_random_state(random_state)
    out = np.empty((n_sequences, n_frames, len(WALKING_CHANNELS)), np.float32)
    for s in range(n_sequences):
        cadence = 2 * math.pi / rng.uniform(low, high)  # radians of leg phase per frame
        stride = rng.uniform(0.7, 1.3) * (0.6 + 0.6 * cadence)  # faster walkers take longer strides
        omega, leg, arm = cadence, rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
        for t in range(n_frames):
            out[s, t] = _pose(leg, arm, stride)
            omega += 0.05 * (cadence - omega) + rng.normal(0, 0.002)
            arm += omega + 0.2 * math.sin(leg + math.pi - arm) + rng.normal(0, 0.01)
            leg += omega
    out += rng.normal(0, noise, out.shape).astype(np.float32) if noise else 0
    return out


def _pose(leg, arm, stride):
    left, right = leg, leg + math.pi
    swing = [max(0.0, math.sin(p - 0.6)) ** 1.5 for p in (left, right)]
    return (0.5 * stride * math.sin(left), 0.5 * stride * math.sin(right),
            1.1 * stride * swing[0], 1.1 * stride * swing[1],
            0.25 * math.sin(2 * left + 0.3), 0.25 * math.sin(2 * right + 0.3),
            0.4 * stride * math.sin(arm), 0.4 * stride * math.sin(arm + math.pi),
            0.3 + 0.2 * max(0.0, math.sin(arm)), 0.3 + 0.2 * max(0.0, math.sin(arm + math.pi)),
            0.1 * stride * math.sin(left), 0.03 * math.cos(2 * left))


def load_motion(path, return_channels=False):
    """Read a motion file the user has: BVH (``*.bvh``: the MOTION section's frames, every channel of the
    HIERARCHY) or CSV (one frame per row, one channel per column, an optional header row).

    Parameters
    ----------
    path : str or Path
    return_channels : bool, default=False
        Also return the channel names (BVH: 'Joint_Xrotation', ...; CSV: the header, or 'channel_i').

    Returns
    -------
    frames : ndarray of shape (n_frames, n_channels), float32
    channels : list of str (with ``return_channels``)

    Raises
    ------
    ValueError (``deepbelief.data.files.DataError``) naming the file and line of a malformed file; OSError when it
    cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() == ".bvh":
        frames, channels = _read_bvh(path, DataError)
    else:
        header, rows = read_csv(path)
        try:
            frames = np.array([[float(c) for c in row] for _, row in rows], np.float32)
        except ValueError as exc:
            raise DataError(f"{path}: a value is not a number ({exc})") from None
        channels = header or [f"channel_{i}" for i in range(frames.shape[1])]
    if not np.isfinite(frames).all():
        raise DataError(f"{path} holds NaN or infinite values")
    return (frames, channels) if return_channels else frames


def _read_bvh(path, DataError):
    lines = path.read_text(errors="replace").splitlines()
    channels, joint, motion = [], None, None
    for number, line in enumerate(lines, 1):
        words = line.split()
        if not words:
            continue
        if words[0] in ("ROOT", "JOINT") and len(words) > 1:
            joint = words[1]
        elif words[0] == "CHANNELS":
            if len(words) < 2 or not words[1].isdigit() or len(words) != 2 + int(words[1]) or joint is None:
                raise DataError(f"{path}, line {number}: malformed CHANNELS line")
            channels += [f"{joint}_{name}" for name in words[2:]]
        elif words[0] == "MOTION":
            motion = number
            break
    if motion is None or not channels:
        raise DataError(f"{path} is not a BVH file: no HIERARCHY channels and MOTION section")
    rows = []
    for number, line in enumerate(lines[motion:], motion + 1):
        words = line.split()
        if not words or words[0].startswith(("Frames:", "Frame")):
            continue
        if len(words) != len(channels):
            raise DataError(f"{path}, line {number}: {len(words)} values, but the hierarchy has {len(channels)} "
                            "channels")
        try:
            rows.append([float(w) for w in words])
        except ValueError:
            raise DataError(f"{path}, line {number}: a value is not a number") from None
    if not rows:
        raise DataError(f"{path} has no frames in its MOTION section")
    return np.array(rows, np.float32), channels
