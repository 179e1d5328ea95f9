import numpy as np
import pytest
from PIL import Image

from deepbelief.data.sequences import _move
from deepbelief.datasets import WALKING_CHANNELS, load_motion, make_bouncing_balls, make_walking_motion
from deepbelief.plot import plot_sequence, save_animation

BVH = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT LeftUpLeg
  {
    OFFSET 1 0 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    End Site
    {
      OFFSET 0 -1 0
    }
  }
}
MOTION
Frames: 3
Frame Time: 0.033333
0 90 0 1 2 3 4 5 6
0.5 90 0 1.5 2 3 4 5 6.5
1 90 0 2 2 3 4 5 7
"""


def test_bouncing_balls_shape_range_and_seed():
    videos = make_bouncing_balls(3, 40, size=16, n_balls=2, random_state=0)
    assert videos.shape == (3, 40, 256) and videos.dtype == np.float32
    assert videos.min() >= 0 and videos.max() <= 1
    np.testing.assert_array_equal(videos, make_bouncing_balls(3, 40, size=16, n_balls=2, random_state=0))
    assert not np.array_equal(videos, make_bouncing_balls(3, 40, size=16, n_balls=2, random_state=1))
    # Each frame shows both balls: about two disks' worth of ink (less only while they touch).
    disk = make_bouncing_balls(1, 1, size=16, n_balls=1, random_state=0).sum()
    assert np.median(videos.sum(2)) == pytest.approx(2 * disk, rel=0.1)


def test_balls_bounce_elastically_and_stay_in_the_box():
    rng = np.random.default_rng(0)
    pos = np.array([[2.0, 2.0], [5.0, 5.0], [8.0, 3.0]])
    vel = rng.normal(0, 0.5, (3, 2))
    energy = (vel**2).sum()
    for _ in range(2000):
        pos, vel = _move(pos, vel, 1.0, 10.0)
        assert (pos >= 1.0 - 1e-9).all() and (pos <= 9.0 + 1e-9).all()
    assert (vel**2).sum() == pytest.approx(energy)  # walls and collisions keep the speed
    # A head-on collision of equal masses swaps the velocities (momentum conserved).
    pos, vel = np.array([[4.0, 5.0], [5.9, 5.0]]), np.array([[0.5, 0.0], [-0.5, 0.0]])
    _, after = _move(pos, vel, 1.0, 10.0)
    np.testing.assert_allclose(after, [[-0.5, 0.0], [0.5, 0.0]])
    np.testing.assert_allclose(after.sum(0), vel.sum(0))


def test_walking_motion_is_a_gait():
    motion = make_walking_motion(4, 300, noise=0.0, frames_per_cycle=(10, 12), random_state=0)
    assert motion.shape == (4, 300, len(WALKING_CHANNELS))
    knees = motion[..., 2:4]
    assert knees.min() >= 0  # knees flex one way only
    # Left and right hips swing in anti-phase; the stride takes 10-12 frames.
    hips = motion[..., 0:2]
    assert np.corrcoef(hips[0, :, 0], hips[0, :, 1])[0, 1] < -0.95
    spectrum = np.abs(np.fft.rfft(hips[0, :, 0] - hips[0, :, 0].mean()))
    period = 300 / np.argmax(spectrum)
    assert 9.5 <= period <= 12.5
    noisy = make_walking_motion(4, 300, noise=0.1, frames_per_cycle=(10, 12), random_state=0)
    assert np.std(noisy - motion) == pytest.approx(0.1, rel=0.05)


@pytest.mark.parametrize("call, match", [
    (lambda: make_bouncing_balls(0, 10), "n_sequences"),
    (lambda: make_bouncing_balls(1, 10, n_balls=40, radius=2), "does not fit"),
    (lambda: make_walking_motion(1, 10, noise=-1), "noise"),
    (lambda: make_walking_motion(1, 10, frames_per_cycle=(2, 1)), "frames_per_cycle"),
    (lambda: make_walking_motion(1, 2.5), "n_frames"),
])
def test_generator_arguments_are_checked(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_load_bvh(tmp_path):
    path = tmp_path / "walk.bvh"
    path.write_text(BVH)
    frames, channels = load_motion(path, return_channels=True)
    assert frames.shape == (3, 9)
    assert channels[:2] == ["Hips_Xposition", "Hips_Yposition"] and channels[-1] == "LeftUpLeg_Yrotation"
    np.testing.assert_allclose(frames[:, 0], [0, 0.5, 1])


def test_load_csv(tmp_path):
    path = tmp_path / "walk.csv"
    path.write_text("hip,knee\n0.1,0.2\n0.3,0.4\n")
    frames, channels = load_motion(path, return_channels=True)
    assert channels == ["hip", "knee"]
    np.testing.assert_allclose(frames, [[0.1, 0.2], [0.3, 0.4]])
    path.write_text("0.1,0.2\n0.3,0.4\n")
    assert load_motion(path).shape == (2, 2)


@pytest.mark.parametrize("name, text, match", [
    ("a.bvh", BVH.replace("1 90 0 2 2 3 4 5 7", "1 90 0 2"), "line 21: 4 values, but the hierarchy has 9"),
    ("a.bvh", BVH.replace("0.5 90", "x 90"), "line 20: a value is not a number"),
    ("a.bvh", "HIERARCHY\nROOT Hips\n", "not a BVH file"),
    ("a.bvh", BVH.replace("CHANNELS 3 Zrotation", "CHANNELS 4 Zrotation"), "malformed CHANNELS"),
    ("a.bvh", BVH.split("Frame Time")[0], "no frames"),
    ("a.csv", "1,2\n3,x\n", "not a number"),
    ("a.csv", "1,2\n3,nan\n", "NaN"),
])
def test_malformed_motion_files(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_motion(path)


def test_sequence_plots(tmp_path):
    video = make_bouncing_balls(1, 12, size=16, random_state=0)[0]
    fig = plot_sequence(video, n_frames=5, save=tmp_path / "strip.png")
    assert len(fig.axes) == 5 and (tmp_path / "strip.png").read_bytes()[:4] == b"\x89PNG"
    motion = make_walking_motion(1, 30, random_state=0)[0]
    fig = plot_sequence(motion, channel_names=list(WALKING_CHANNELS))
    assert len(fig.axes[0].lines) == 12
    save_animation(video, tmp_path / "video.gif", fps=5)
    save_animation(motion[:4], tmp_path / "motion.gif")
    for name, n in (("video.gif", 12), ("motion.gif", 4)):
        with Image.open(tmp_path / name) as gif:
            assert gif.n_frames == n
    with pytest.raises(ValueError, match="image_shape"):
        plot_sequence(video, image_shape=(5, 5))
    with pytest.raises(ValueError, match="kind"):
        plot_sequence(video, kind="film")
    with pytest.raises(ValueError, match="n_frames >= 1"):
        save_animation(np.zeros((0, 4)), tmp_path / "empty.gif")
