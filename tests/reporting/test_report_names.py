

def test_names_leave_out_the_overrides_every_run_shares() -> None:
    from ecgtricks.reporting.render import common_overrides, short_variant

    variants = ["data.path=twin-1a2b,data.sources=[cpsc,ptbxl]",
                "+trick=se,data.path=twin-1a2b,data.sources=[cpsc,ptbxl]",
                "+trick=se,data.path=twin-1a2b,data.sources=[cpsc,georgia]"]
    assert common_overrides(variants) == ["data.path=twin-1a2b"]
    assert [short_variant(v, ["data.path=twin-1a2b"]) for v in variants] == [
        "data.sources=[cpsc,ptbxl]", "+trick=se,data.sources=[cpsc,ptbxl]", "+trick=se,data.sources=[cpsc,georgia]"]
    assert common_overrides(["default", "+trick=se"]) == [] and short_variant("x=1", ["x=1"]) == "default"
