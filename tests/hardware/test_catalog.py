"""Hardware catalog: size, sources for every value, schema validation errors name the field."""

from __future__ import annotations

import pytest

from hwopt.errors import HardwareError, UnknownNameError
from hwopt.hardware import HardwareTarget, load_catalog
from hwopt.hardware._target import _SOURCED


def test_catalog_has_enough_sourced_targets():
    cat = load_catalog()
    assert len(cat) >= 25
    kinds = {t.kind for t in cat}
    assert {"gpu", "cpu", "mobile", "edge"} <= kinds
    for t in cat:
        for key in _SOURCED:
            if getattr(t, key) not in (None, {}):
                assert t.sources.get(key), f"{t.name}.{key} has no source"


@pytest.mark.parametrize("device", ["gtx1080ti", "rtx2080ti", "titan_rtx", "titan_x", "titan_xp", "tesla_p40",
                                    "xeon_gold_6226", "xeon_gold_6240", "xeon_silver_4114", "xeon_silver_4210r",
                                    "essential_ph1", "pixel2", "pixel3", "samsung_a50", "samsung_s7", "raspi4",
                                    "raspi5", "rtx 4090", "Jetson Orin Nano"])
def test_shared_table_devices_resolve(device):
    assert load_catalog().get(device).name


@pytest.mark.parametrize("device,name", [("edgegpu", "Jetson-TX2"), ("edgetpu", "Coral-Edge-TPU"),
                                         ("cortexA76cpu", "Pixel-4"), ("adreno640gpu", "Adreno-640-GPU"),
                                         ("adreno630gpu", "Adreno-630-GPU"), ("myriadvpu", "Myriad-X-VPU"),
                                         ("i7-7820X", "Core-i7-7820X"), ("Jetson AGX Xavier", "Jetson-AGX-Xavier")])
def test_devices_of_other_published_latency_sets_resolve(device, name):
    """HW-NAS-Bench, nn-Meter and BRP-NAS name their devices differently from the spec sheets."""
    assert load_catalog().get(device).name == name


def _entry(**over):
    d = {"name": "x", "kind": "gpu", "description": "d", "peak_tflops": {"fp32": 1.0},
         "memory_bandwidth_gbps": 10, "memory_gb": 1,
         "sources": {"peak_tflops": "s", "memory_bandwidth_gbps": "s", "memory_gb": "s"}}
    d.update(over)
    return d


@pytest.mark.parametrize("over,field", [
    ({"kind": "tpu"}, "kind"),
    ({"peak_tflops": {"fp31": 1.0}}, "fp31"),
    ({"peak_tflops": {"fp32": -1}}, "peak_tflops.fp32"),
    ({"memory_bandwidth_gbps": "fast"}, "memory_bandwidth_gbps"),
    ({"tdp_w": 100}, "tdp_w"),  # no source for it
    ({"colour": "green"}, "colour"),
])
def test_bad_fields_raise_hardware_error_naming_the_field(over, field):
    with pytest.raises(HardwareError, match=field):
        HardwareTarget.from_dict(_entry(**over), "file.yaml")


def test_missing_required_field():
    d = _entry()
    del d["memory_gb"]
    with pytest.raises(HardwareError, match="memory_gb"):
        HardwareTarget.from_dict(d)


def test_user_file_extends_and_overrides(tmp_path):
    f = tmp_path / "hw.yaml"
    f.write_text("hardware:\n  - name: my-npu\n    kind: accelerator\n    description: test\n"
                 "    peak_tflops: {int8: 4}\n    memory_bandwidth_gbps: 20\n    memory_gb: 2\n"
                 "    sources: {peak_tflops: vendor, memory_bandwidth_gbps: vendor, memory_gb: vendor}\n")
    cat = load_catalog(f)
    assert cat.get("MY_NPU").peak_flops("int8") == 4e12
    with pytest.raises(UnknownNameError, match="my-npu"):
        cat.get("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("hardware:\n  - name: b\n    kind: gpu\n")
    with pytest.raises(HardwareError, match="bad.yaml"):
        load_catalog(bad)


def test_local_target_is_detected(monkeypatch, tmp_path):
    from hwopt.hardware import _local

    monkeypatch.setattr(_local, "measure_peak_gflops", lambda *a, **k: 50.0)
    monkeypatch.setattr(_local, "measure_bandwidth_gbps", lambda *a, **k: 10.0)
    t = _local.detect_local(cache=False)
    assert t.name == "local" and t.kind == "cpu"
    assert t.peak_flops("fp32") == pytest.approx(50e9)
    assert "measured" in t.sources["peak_tflops"]
