"""Hardware detection: the first probe that finds devices decides; a failing probe is
noted."""

from testmatrix.system.detect import detect


def _raise(message):
    def probe():
        raise ModuleNotFoundError(message)

    return probe


def test_amdsmi_devices_mean_rocm():
    found = detect((("amdsmi", lambda: ("rocm", 8)), ("pynvml", lambda: ("cuda", 1))))
    assert (found.hardware, found.devices, found.method) == ("rocm", 8, "amdsmi")


def test_later_probe_answers_when_earlier_ones_cannot_run():
    found = detect(
        (("amdsmi", _raise("amdsmi not installed")), ("pynvml", lambda: ("cuda", 2)))
    )
    assert (found.hardware, found.devices) == ("cuda", 2)
    assert found.notes == ("amdsmi: amdsmi not installed",)
    assert found.describe() == "cuda (2 devices, via pynvml)"


def test_no_devices_anywhere_is_none_with_the_reasons():
    found = detect(
        (("amdsmi", _raise("amdsmi not installed")), ("torch", lambda: None))
    )
    assert found.hardware == "none" and found.devices == 0
    assert found.describe() == "none (amdsmi: amdsmi not installed; torch: no devices)"


def test_real_probe_runs_on_this_machine():
    found = detect()
    assert found.hardware in ("rocm", "cuda", "none")
    assert (found.devices > 0) == (found.hardware != "none")
