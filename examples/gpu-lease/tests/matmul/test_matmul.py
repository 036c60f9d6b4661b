from gpuwork import check_on_leased_gpu


def test_matmul_on_the_leased_gpu(record_property):
    check_on_leased_gpu(record_property, "matmul")
