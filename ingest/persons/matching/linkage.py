"""Find records of the same person with a Fellegi-Sunter model (splink), trained by EM on the records themselves."""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from ingest.persons.matching.records import PersonRecord, features, read_records

logger = logging.getLogger(__name__)

#: Match probability above which a pair is reported. Chosen on one half of the development set's
#: persons and checked on the other half (see benchmarks/matching.py).
DEFAULT_THRESHOLD = 0.1

#: Below this many records the parameters are not estimated from the records but taken from the model
#: shipped with the package (trained the same way, without labels, on the development set).
MIN_TRAINING_RECORDS = 500
MODEL_PATH = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class Candidate:
    """A pair of records the model scores as the same person."""

    record_id_a: str
    record_id_b: str
    match_probability: float
    match_weight: float
    #: per comparison: the label of the level that applied and its Bayes factor (only from `score_records`).
    evidence: dict | None = field(default=None, compare=False, hash=False)


def _name_comparison(part: str, other: str):
    """Compare one name part, with a level for names written in the other order."""
    import splink.comparison_level_library as cll  # heavy: splink loads DuckDB
    from splink import comparison_library as cl  # heavy: splink loads DuckDB

    extra, first = [], []
    if part == "family":
        # Some peoples use no family name, and a person has one or not: whether the records have one
        # is evidence too, so only a missing given name is a null level.
        first = [
            cll.CustomLevel("family_rk_l is null and family_rk_r is null", "neither has one"),
            cll.CustomLevel("family_rk_l is null or family_rk_r is null", "only one has one"),
        ]
        # Married women are often recorded under their husband's surname: a different surname means
        # less for two women than for two men.
        extra = [cll.CustomLevel("sex_l = 'F' and sex_r = 'F'", "different, both women")]

    return cl.CustomComparison(
        output_column_name=part,
        comparison_levels=[
            *first,
            cll.NullLevel(f"{part}_rk"),
            # Typed identically in both scripts: often copied from the same referral paperwork.
            cll.And(cll.ExactMatchLevel(f"{part}_lo"), cll.ExactMatchLevel(f"{part}_typed")).configure(
                tf_adjustment_column=f"{part}_lo"
            ),
            cll.And(cll.ExactMatchLevel(f"{part}_lo"), cll.ExactMatchLevel(f"{part}_tk")).configure(
                tf_adjustment_column=f"{part}_lo", label_for_charts="same in Lao, same Latin after folding"
            ),
            cll.ExactMatchLevel(f"{part}_lo").configure(tf_adjustment_column=f"{part}_lo"),
            # Given and family name are often written in the other order.
            cll.CustomLevel(f"{part}_sk_l = {other}_sw_r", "swapped with the other part").configure(
                tf_adjustment_column=f"{part}_lo"
            ),
            cll.Or(
                cll.ExactMatchLevel(f"{part}_sk"), cll.ExactMatchLevel(f"{part}_rk"), cll.ExactMatchLevel(f"{part}_tk")
            ),
            cll.JaroWinklerLevel(f"{part}_rk", 0.92),
            cll.JaroWinklerLevel(f"{part}_rk", 0.8),
            *extra,
            cll.ElseLevel(),
        ],
    )


def _birth_comparison():
    """Compare birth dates and years; a 1 January placeholder only counts as a year."""
    import splink.comparison_level_library as cll  # heavy: splink loads DuckDB
    from splink import comparison_library as cl  # heavy: splink loads DuckDB

    same_date = (
        "birth_date_l = birth_date_r or (substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4)"
        " and substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2)"
        " and substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2))"
    )
    return cl.CustomComparison(
        output_column_name="birth",
        comparison_levels=[
            cll.NullLevel("birth_year"),
            cll.CustomLevel(same_date, "same real date (or day and month swapped)"),
            cll.CustomLevel(
                "birth_year_l = birth_year_r and (birth_date_l is null or birth_date_r is null)", "same year"
            ),
            cll.CustomLevel("birth_year_l = birth_year_r", "same year, different real dates"),
            cll.AbsoluteDifferenceLevel("birth_year", 1),
            cll.AbsoluteDifferenceLevel("birth_year", 2),
            cll.AbsoluteDifferenceLevel("birth_year", 5),
            cll.ElseLevel(),
        ],
    )


def _screening_comparison():
    """Compare when and where the records were made: one case's records follow each other within months."""
    import splink.comparison_level_library as cll  # heavy: splink loads DuckDB
    from splink import comparison_library as cl  # heavy: splink loads DuckDB

    def within(days):
        return cll.AbsoluteDateDifferenceLevel("screened", input_is_string=True, threshold=days, metric="day")

    return cl.CustomComparison(
        output_column_name="screened",
        comparison_levels=[
            cll.NullLevel("screened"),
            # Siblings and friends are often screened together, but one person is not screened twice on one
            # day in one province. Fixed rather than trained: EM would take siblings for one person.
            cll.And(cll.ExactMatchLevel("screened"), cll.ExactMatchLevel("province")).configure(
                m_probability=1e-12, fix_m_probability=True
            ),
            within(60),
            within(365),
            within(730),
            within(1095),
            cll.ElseLevel(),
        ],
    )


def settings():
    """Return the splink settings of the person model (comparisons and blocking rules).

    Only splink's backend-neutral levels and plain SQL are used, so the same settings run on splink's
    Spark backend (see README, "Person matching").
    """
    import splink.comparison_level_library as cll  # heavy: splink loads DuckDB
    from splink import SettingsCreator, block_on  # heavy: splink loads DuckDB
    from splink import comparison_library as cl  # heavy: splink loads DuckDB
    from splink.blocking_rule_library import CustomRule  # heavy: splink loads DuckDB

    comparisons = [
        _name_comparison("given", "family"),
        _name_comparison("family", "given"),
        _birth_comparison(),
        cl.ExactMatch("sex"),
        cl.CustomComparison(
            output_column_name="village",
            comparison_levels=[
                cll.NullLevel("village"),
                cll.ExactMatchLevel("village").configure(tf_adjustment_column="village"),
                cll.Or(cll.ExactMatchLevel("village_sk"), cll.JaroWinklerLevel("village", 0.88)),
                cll.ElseLevel(),
            ],
        ),
        cl.CustomComparison(
            output_column_name="phone",
            comparison_levels=[
                cll.CustomLevel("phone_l is null and phone_r is null").configure(is_null_level=True),
                cll.ExactMatchLevel("phone").configure(tf_adjustment_column="phone"),
                cll.LevenshteinLevel("phone", 2),
                # A person with a telephone tends to give it each time.
                cll.CustomLevel("phone_l is null or phone_r is null", "only one has a phone"),
                cll.ElseLevel(),
            ],
        ),
        _screening_comparison(),
    ]
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on("given_sk", "family_sk"),
            block_on("given_rk", "family_rk"),
            block_on("given_sk", "birth_year"),
            # A given name alone is too common to block on, except where there is no family name to add.
            CustomRule("l.given_sk = r.given_sk and (l.family_sk is null or r.family_sk is null)"),
            block_on("family_sk", "birth_year"),
            block_on("given_rk", "birth_year"),
            block_on("given_sk", "village"),
            block_on("family_sk", "village"),
            block_on("phone"),
            block_on("birth_date"),
            block_on("village", "birth_year"),
            CustomRule("l.given_sk = r.given_sk and abs(l.birth_year - r.birth_year) = 1"),
            CustomRule("l.given_sk = r.family_sw and l.family_sk = r.given_sw"),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )


def train(linker) -> None:
    """Estimate the model's parameters from the records alone (no labels): u by sampling, m by EM."""
    from splink import block_on  # heavy: splink loads DuckDB

    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_sk", "family_sk", "birth_year"), block_on("given_sk", "phone")], recall=0.6
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    # Each EM session fixes the fields it blocks on; together they train every comparison.
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("given_sk", "family_sk", "birth_year"), max_pairs=2e6
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_sk", "village"), max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("family_sk", "birth_year", "sex"), max_pairs=2e6
    )


def smooth(linker, pseudo: float = 0.005) -> None:
    """Add a small pseudo-probability to every trained m so that no level is taken as impossible.

    EM drives m to zero for a level no match fell into in its sample (a birth year 20 years off, a
    screening 4 years later), which would veto a pair whatever else agrees; real data has such cases.
    """
    for comparison in linker._settings_obj.comparisons:
        levels = [
            level for level in comparison.comparison_levels if not level.is_null_level and not level._fix_m_probability
        ]
        for level in levels:
            m = level.m_probability
            if isinstance(m, float):
                level.m_probability = (m + pseudo) / (1 + pseudo * len(levels))


def _linker(rows: list[dict], model: dict | None):
    from splink import DuckDBAPI, Linker  # heavy: splink loads DuckDB

    table = DuckDBAPI().register(rows)
    return Linker(table, model if model is not None else settings(), log_level=logging.ERROR)


def trained_linker(rows: list[dict]):
    """Return a linker over `rows` (feature dicts), with parameters estimated from them when there are enough."""
    from splink.internals.exceptions import SplinkException  # heavy: splink loads DuckDB

    if len(rows) >= MIN_TRAINING_RECORDS:
        linker = _linker(rows, None)
        try:
            train(linker)
        except SplinkException:
            # Too few agreeing pairs to estimate from (a short list from a partner agency, say).
            logger.warning("person model not trainable on %d records; using the shipped model", len(rows))
        else:
            smooth(linker)
            return linker
    model = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    # The prior that two records match falls with the size of the list (each person has about the same
    # number of records whatever the list's length), so it is rescaled from the training set's size.
    trained_on = model.pop("trained_on_records")
    prior = model["probability_two_random_records_match"] * (trained_on - 1) / max(len(rows) - 1, 1)
    model["probability_two_random_records_match"] = min(prior, 0.5)
    return _linker(rows, model)


def save_model(records: list[PersonRecord], path: str | Path) -> None:
    """Estimate the model's parameters from `records` (no labels) and write them as splink JSON to `path`."""
    rows = [features(r) for r in records if r.has_name()]
    linker = _linker(rows, None)
    train(linker)
    smooth(linker)
    model = {**linker.misc.save_model_to_json(), "trained_on_records": len(rows)}
    Path(path).write_text(json.dumps(model, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _pair(prediction: dict) -> tuple[str, str]:
    """Return the two record ids of a predicted pair, in order."""
    first, second = sorted((prediction["unique_id_l"], prediction["unique_id_r"]))
    return first, second


def match_records(records: list[PersonRecord], threshold: float = DEFAULT_THRESHOLD) -> list[Candidate]:
    """Return the pairs of `records` whose match probability is at least `threshold`.

    Records without any name are left out. Runs on an in-memory DuckDB database; the parameters are
    estimated afresh from `records` on every call (see `trained_linker`).
    """
    rows = [features(r) for r in records if r.has_name()]
    if len(rows) < 2:
        return []
    predictions = trained_linker(rows).inference.predict(threshold_match_probability=threshold)
    out = [Candidate(*_pair(p), p["match_probability"], p["match_weight"]) for p in predictions.as_record_list()]
    out.sort(key=lambda c: (c.record_id_a, c.record_id_b))
    return out


def score_records(records: list[PersonRecord], threshold: float = DEFAULT_THRESHOLD) -> list[Candidate]:
    """Return the pairs `match_records` returns, each with its evidence: which comparison agreed, how strongly.

    The evidence names the level of each comparison (labels name columns, never values) and its match
    weight (log2 Bayes factor, term frequency included): positive for, negative against.
    """
    rows = [features(r) for r in records if r.has_name()]
    if len(rows) < 2:
        return []
    linker = trained_linker(rows)
    linker._settings_obj._retain_intermediate_calculation_columns = True
    # The prediction carries each comparison's match weight (log2 Bayes factor), not its level: the level
    # is the one with that weight (levels of one comparison have distinct weights once trained).
    levels = {
        c.output_column_name: [
            (level._log2_bayes_factor, level.label_for_charts)
            for level in c.comparison_levels
            if not level.is_null_level
        ]
        for c in linker._settings_obj.comparisons
    }
    out = []
    for p in linker.inference.predict(threshold_match_probability=threshold).as_record_list():
        evidence = {}
        for name, choices in levels.items():
            weight = p.get(f"mw_{name}")
            if weight is None or weight == 0:
                continue  # a null level: one side has no value
            label = min(choices, key=lambda c: abs(c[0] - weight))[1]
            total = weight + (p.get(f"mw_tf_adj_{name}") or 0.0)
            evidence[name] = {"level": label, "weight": round(float(total), 2)}
        out.append(Candidate(*_pair(p), p["match_probability"], p["match_weight"], evidence))
    out.sort(key=lambda c: (c.record_id_a, c.record_id_b))
    return out


@dataclass(frozen=True)
class FileSummary:
    """What `match_file` read and wrote."""

    records: int
    skipped_without_name: int
    pairs: int


def match_file(records_csv_path, out_pairs_csv_path, threshold: float = DEFAULT_THRESHOLD) -> FileSummary:
    """Match the records of a CSV file (the development set's format); write ``record_id_a,record_id_b`` rows."""
    records = read_records(records_csv_path)
    skipped = sum(1 for r in records if not r.has_name())
    pairs = match_records(records, threshold)
    with open(out_pairs_csv_path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["record_id_a", "record_id_b"])
        writer.writerows((p.record_id_a, p.record_id_b) for p in pairs)
    return FileSummary(records=len(records), skipped_without_name=skipped, pairs=len(pairs))
