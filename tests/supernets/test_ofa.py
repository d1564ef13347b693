"""ofa-mbv3: checkpoint loading and its errors, accuracy refusal, image-folder accuracy, counts."""

from __future__ import annotations

import gzip
import json

import pytest

torch = pytest.importorskip("torch")

from hwopt.errors import CheckpointError, ObjectiveError, SpaceError  # noqa: E402
from hwopt.evaluators import count_macs, count_params  # noqa: E402
from hwopt.supernets import get_space  # noqa: E402

SMALL = {"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint in the official file format: {"state_dict": ...} with OFA's key names."""
    space = get_space("ofa-mbv3")
    path = tmp_path_factory.mktemp("ckpt") / "ofa_mbv3_d234_e346_k357_w1.0"
    sd = {k: v.clone() for k, v in space.supernet.state_dict().items()}
    sd["classifier.linear.bias"] += 0.5  # differs from the seeded random init
    torch.save({"state_dict": sd}, path)
    return path, sd


def test_checkpoint_loads_into_supernet(checkpoint):
    path, sd = checkpoint
    space = get_space("ofa-mbv3", weights=str(path))
    assert torch.equal(space.supernet.state_dict()["classifier.linear.bias"], sd["classifier.linear.bias"])
    sub = space.build(SMALL)
    assert torch.equal(sub.classifier.linear.bias, sd["classifier.linear.bias"])


@pytest.mark.parametrize("edit, needle", [
    (lambda sd: sd.pop("blocks.3.conv.depth_conv.conv.7to5_matrix"),
     "missing key 'blocks.3.conv.depth_conv.conv.7to5_matrix'"),
    (lambda sd: sd.__setitem__("blocks.99.conv.weight", torch.zeros(1)), "unexpected key 'blocks.99.conv.weight'"),
    (lambda sd: sd.__setitem__("first_conv.conv.weight", torch.zeros(24, 3, 3, 3)),
     "'first_conv.conv.weight' has shape (24, 3, 3, 3), ofa-mbv3 w1.0 expects (16, 3, 3, 3)"),
])
def test_checkpoint_mismatch_names_first_problem(tmp_path, checkpoint, edit, needle):
    sd = dict(checkpoint[1])
    edit(sd)
    bad = tmp_path / "bad.pth"
    torch.save({"state_dict": sd}, bad)
    with pytest.raises(CheckpointError) as exc:
        get_space("ofa-mbv3", weights=str(bad)).supernet
    assert needle in str(exc.value)
    assert "\n" not in str(exc.value)


def test_w12_checkpoint_does_not_load_into_w10(tmp_path):
    path = tmp_path / "w12.pth"
    torch.save(get_space("ofa-mbv3", width=1.2).supernet.state_dict(), path)
    with pytest.raises(CheckpointError, match="has shape"):
        get_space("ofa-mbv3", weights=str(path)).supernet


def test_bad_width_and_missing_file():
    with pytest.raises(SpaceError, match="width must be one of 1.0, 1.2"):
        get_space("ofa-mbv3", width=0.75)
    with pytest.raises(CheckpointError, match="does not exist"):
        get_space("ofa-mbv3", weights="/nonexistent/ckpt.pth").supernet


def test_accuracy_refused_without_weights_or_data(checkpoint):
    with pytest.raises(ObjectiveError, match="--weights"):
        get_space("ofa-mbv3").make_evaluator(["accuracy", "macs"])
    with pytest.raises(ObjectiveError, match="--data"):
        get_space("ofa-mbv3", weights=str(checkpoint[0])).make_evaluator(["accuracy"])
    ev = get_space("ofa-mbv3").make_evaluator(["macs", "params"])
    assert ev.evaluate(SMALL)["params"] > 0


def test_accuracy_on_image_folder(tmp_path, checkpoint):
    Image = pytest.importorskip("PIL.Image")
    import numpy as np

    rng = np.random.default_rng(0)
    for split, n in (("train", 3), ("val", 2)):
        for cls in ("n01", "n02"):
            d = tmp_path / "imgs" / split / cls
            d.mkdir(parents=True)
            for i in range(n):
                Image.fromarray(rng.integers(0, 255, (150, 180, 3), dtype=np.uint8)).save(d / f"{i}.JPEG")
    space = get_space("ofa-mbv3", weights=str(checkpoint[0]))
    ev = space.make_evaluator(["accuracy"], data=str(tmp_path / "imgs"), subset=3, batch_size=1)
    acc = ev.evaluate(SMALL)["accuracy"]
    assert 0.0 <= acc <= 100.0
    ctx = ev.context()["data"]
    assert ctx["val_images"] == 3 and ctx["calib_source"] == "train" and ctx["classes"] == 2


def test_counts_match_shared_ofa_table_rows(data_dir):
    path = data_dir / "ofa_mbv3" / "imagenet_accuracy.csv.gz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    import csv

    from hwopt.supernets._mbv3_nn import static_subnet

    space = get_space("ofa-mbv3")
    with gzip.open(path, "rt") as f:
        rows = list(csv.DictReader(f))
    for row in rows[:: max(1, len(rows) // 12)]:  # a spread of rows; the benchmark checks all
        cfg = space.parse_config(row["config"])
        with torch.device("meta"):
            model = static_subnet(space.arch, cfg)
        assert count_macs(model, space.input_shape(cfg)) == int(row["macs"]), row["config"]
        assert count_params(model) == int(row["params"]), row["config"]


def test_table_config_json_form_parses():
    space = get_space("ofa-mbv3")
    cfg = space.parse_config(json.dumps(SMALL))
    assert space.input_shape(cfg, 4) == (4, 3, 128, 128)


def test_unreadable_or_foreign_checkpoint(tmp_path, checkpoint):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot be read"):
        get_space("ofa-mbv3", weights=str(junk)).supernet
    torch.save([1, 2, 3], junk)
    with pytest.raises(CheckpointError, match="holds no state dict"):
        get_space("ofa-mbv3", weights=str(junk)).supernet
    # DataParallel prefixes are accepted
    prefixed = tmp_path / "dp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in checkpoint[1].items()}}, prefixed)
    get_space("ofa-mbv3", weights=str(prefixed)).supernet
