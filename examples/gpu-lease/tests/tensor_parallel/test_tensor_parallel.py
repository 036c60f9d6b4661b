import os

from gpuwork import check_on_leased_gpu


def test_tensor_parallel_on_both_leased_gpus(record_property, monkeypatch):
    monkeypatch.setenv("EXPECT_GPUS", "2")
    check_on_leased_gpu(record_property, "tensor-parallel")
    assert os.environ.get("CUDA_VISIBLE_DEVICES", "") == "" or "," in os.environ[
        "CUDA_VISIBLE_DEVICES"
    ]
