from salesgrid_pipeline.domain._checks import normalise_key
from salesgrid_pipeline.domain.merge import MAX_NAME, name_on_survivor


def test_a_free_name_moves_unchanged():
    assert name_on_survivor("Spare parts", {normalise_key("Plant automation")}) == "Spare parts"


def test_a_taken_name_gets_the_first_free_suffix():
    taken = {normalise_key(n) for n in ("Plant automation", "Plant automation (merged)")}
    assert name_on_survivor("PLANT  automation", taken) == "PLANT  automation (merged 2)"


def test_a_long_name_stays_within_the_limit():
    name = "x" * MAX_NAME
    renamed = name_on_survivor(name, {normalise_key(name)})
    assert len(renamed) == MAX_NAME and renamed.endswith(" (merged)")
