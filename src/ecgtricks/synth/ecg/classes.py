"""What each SNOMED CT code does to the signal: the class definitions table (README).

Every scored code of 2020 (27) and 2021 (30: CLBBB, BBB and PRWP added) has a row.

The generator's own reading of a record's codes is :mod:`ecgtricks.synth.ecg.plan`; this table
describes, in words and with the parameter ranges of :mod:`ecgtricks.synth.ecg.constants`, what
each class looks like.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecgtricks.synth.ecg.constants import (
    AF,
    AF_CV,
    AFL,
    AXIS_LAD,
    AXIS_LANFB,
    AXIS_NORMAL,
    AXIS_RAD,
    BBB,
    BRADY,
    CLBBB,
    COUPLING,
    CRBBB,
    ECTOPY_PER_10S,
    F_WAVE_HZ,
    F_WAVE_V1,
    FLUTTER_P2P,
    FLUTTER_RATE,
    IAVB,
    IRBBB,
    LAD,
    LANFB,
    LBBB,
    LPR,
    LQRSV,
    LQRSV_CHEST,
    LQRSV_LIMB,
    LQT,
    NSIVCB,
    NSR,
    PAC,
    PACING,
    PR_IAVB,
    PR_LPR,
    PR_NORMAL,
    PR_STACH,
    PRWP,
    PRWP_R,
    PVC,
    QAB,
    QRS_BBB,
    QRS_IRBBB,
    QRS_LBBB,
    QRS_NSIVCB,
    QRS_PACED,
    QRS_PVC,
    QRS_QAB,
    QRS_RBBB,
    QTC_LQT,
    QTC_NORMAL,
    RAD,
    RATE_AF,
    RATE_AF_BRADY,
    RATE_BRADY,
    RATE_NSR,
    RATE_PACED,
    RATE_PACED_BRADY,
    RATE_SB,
    RATE_STACH,
    RBBB,
    SA,
    SA_DEPTH,
    SA_PERIOD,
    SB,
    SPIKE_MV,
    STACH,
    SVPB,
    TAB,
    TINV,
    VPB,
)


@dataclass(frozen=True)
class ClassDefinition:
    """How the generator shows one SNOMED CT code in the signal."""

    code: str
    abbreviation: str
    name: str
    generator: str
    ranges: str


def _r(lo_hi: tuple[float, float], scale: float = 1.0) -> str:
    lo, hi = lo_hi[0] * scale, lo_hi[1] * scale
    return f"{lo:g} to {hi:g}" if lo < 0 else f"{lo:g}-{hi:g}"


_RBBB_TEXT = ("QRS widened by a slow terminal right-ventricular force turning from anterior to "
              "rightward: rsR' in V1/V2, wide slurred S in I, aVL, V5, V6; T turned away from it "
              "(inverted V1-V3)")
_PAC_TEXT = ("premature beats with an early ectopic P (low-atrial or left-atrial axis, may sit on "
             "the T), the normal narrow QRS, sinus node reset (non-compensatory pause)")
_PVC_TEXT = ("premature wide beats from a ventricular focus (RVOT, RV apex, LV, septum) whose axis "
             "differs from the QRS axis by > 60 degrees, no preceding P, large discordant T, full "
             "compensatory pause (sinus P hidden in the ST-T)")

CLASS_DEFINITIONS: tuple[ClassDefinition, ...] = (
    ClassDefinition(NSR, "NSR", "sinus rhythm",
                    "P before every QRS, RR variability ~1.5 % (respiratory + random)",
                    f"rate {_r(RATE_NSR)} bpm, PR {_r(PR_NORMAL, 1000)} ms"),
    ClassDefinition(SB, "SB", "sinus bradycardia", "sinus rhythm, slow",
                    f"rate {_r(RATE_SB)} bpm"),
    ClassDefinition(STACH, "STach", "sinus tachycardia", "sinus rhythm, fast, shorter PR",
                    f"rate {_r(RATE_STACH)} bpm, PR {_r(PR_STACH, 1000)} ms"),
    ClassDefinition(BRADY, "Brady", "bradycardia", "slows whatever rhythm is generated",
                    f"sinus {_r(RATE_BRADY)}, AF {_r(RATE_AF_BRADY)}, paced "
                    f"{_r(RATE_PACED_BRADY)} bpm, flutter 6:1"),
    ClassDefinition(SA, "SA", "sinus arrhythmia",
                    "sinus rhythm with respiratory RR modulation (phasic)",
                    f"depth +-{_r(SA_DEPTH, 100)} % of RR (max-min > 16 %), period "
                    f"{_r(SA_PERIOD)} s"),
    ClassDefinition(AF, "AF", "atrial fibrillation",
                    "no P waves; frequency-modulated f-waves largest in V1; irregularly irregular "
                    "RR (0.36 s + gamma)",
                    f"f {_r(F_WAVE_HZ)} Hz, {_r(F_WAVE_V1)} mV in V1, RR CV {_r(AF_CV)} (at "
                    f"most 1 - 0.36 s / mean RR), rate {_r(RATE_AF)} bpm"),
    ClassDefinition(AFL, "AFL", "atrial flutter",
                    "no P waves; saw-tooth F waves (negative in II, III, aVF, positive in V1), "
                    "fixed 2:1 or 4:1 conduction (RR an exact multiple of the flutter cycle)",
                    f"atrial {_r(FLUTTER_RATE)} /min, {_r(FLUTTER_P2P)} mV peak-to-peak in II, "
                    "III, aVF (x0.6 with LQRSV; under 0.3 x the QRS in II)"),
    ClassDefinition(PACING, "PR", "pacing rhythm",
                    "one-sample pacing spike then a wide LBBB-like paced QRS (RV apex, left-"
                    "superior axis; LV pacing if RAD) with discordant T; VAT (tracked sinus P), "
                    "VVI, or VVI with dissociated sinus P",
                    f"rate {_r(RATE_PACED)} bpm, spike {_r(SPIKE_MV)} mV, QRS "
                    f"{_r(QRS_PACED, 1000)} ms + 15-25 ms latency"),
    ClassDefinition(IAVB, "IAVB", "1st degree AV block", "long PR, P kept clear of the T",
                    f"PR {_r(PR_IAVB, 1000)} ms"),
    ClassDefinition(LPR, "LPR", "prolonged PR interval", "long PR (with IAVB: 225-280 ms)",
                    f"PR {_r(PR_LPR, 1000)} ms"),
    ClassDefinition(CRBBB, "CRBBB", "complete right bundle branch block", _RBBB_TEXT,
                    f"QRS {_r(QRS_RBBB, 1000)} ms"),
    ClassDefinition(RBBB, "RBBB", "right bundle branch block", "as 713427006 (same class)",
                    f"QRS {_r(QRS_RBBB, 1000)} ms"),
    ClassDefinition(IRBBB, "IRBBB", "incomplete right bundle branch block",
                    "smaller, shorter terminal right-ventricular force: rsr' in V1",
                    f"QRS {_r(QRS_IRBBB, 1000)} ms (116-119 with NSIVCB)"),
    ClassDefinition(LBBB, "LBBB", "left bundle branch block",
                    "no septal forces; two slow leftward-posterior forces: broad notched R in I, "
                    "aVL, V5, V6 without q, QS or rS in V1-V3; discordant ST-T",
                    f"QRS {_r(QRS_LBBB, 1000)} ms"),
    ClassDefinition(CLBBB, "CLBBB", "complete left bundle branch block",
                    "as 164909002 (the same class; scored from 2021)",
                    f"QRS {_r(QRS_LBBB, 1000)} ms"),
    ClassDefinition(BBB, "BBB", "bundle branch block",
                    "side unspecified (scored from 2021), drawn as neither typical pattern "
                    "(masquerading): no septal q and a broad R in I, aVL, "
                    "V5, V6 without S (as LBBB), then a slow terminal anterior-leftward force: "
                    "rSR' in V1 (as RBBB) without RBBB's wide lateral S; T inverted V1-V3",
                    f"QRS {_r(QRS_BBB, 1000)} ms"),
    ClassDefinition(NSIVCB, "NSIVCB", "nonspecific intraventricular conduction disorder",
                    "the normal QRS slowed uniformly (septal q kept, no R')",
                    f"QRS {_r(QRS_NSIVCB, 1000)} ms"),
    ClassDefinition(LANFB, "LAnFB", "left anterior fascicular block",
                    "initial inferior-right force then left-superior main force: qR in I and aVL, "
                    "rS in II, III, aVF", f"axis {_r(AXIS_LANFB)} deg, QRS < 120 ms unless a BBB"),
    ClassDefinition(LAD, "LAD", "left axis deviation",
                    "frontal axis of the net QRS area (solved for exactly)",
                    f"axis {_r(AXIS_LAD)} deg (-80 to -60 with LQRSV)"),
    ClassDefinition(RAD, "RAD", "right axis deviation",
                    "frontal axis of the net QRS area; LAD/LAnFB win if also given",
                    f"axis {_r(AXIS_RAD)} deg (100-120 with LQRSV); otherwise normal axis "
                    f"{_r(AXIS_NORMAL)} deg, mostly near +45"),
    ClassDefinition(PAC, "PAC", "premature atrial contraction", _PAC_TEXT,
                    f"coupling {_r(COUPLING, 100)} % of RR (>= 0.36 s; its P after the previous "
                    f"ST-T), {_r(ECTOPY_PER_10S)} per 10 s, >= 1, at most 1 beat in 3"),
    ClassDefinition(SVPB, "SVPB", "supraventricular premature beats", "as 284470004 (same class)",
                    f"coupling {_r(COUPLING, 100)} % of RR, {_r(ECTOPY_PER_10S)} per 10 s, >= 1"),
    ClassDefinition(PVC, "PVC", "premature ventricular contractions", _PVC_TEXT,
                    f"QRS {_r(QRS_PVC, 1000)} ms (+15 with a block), 1.4-2.2 x the QRS voltage, "
                    f"coupling {_r(COUPLING, 100)} % (>= 0.4 s, before the sinus P), "
                    f"{_r(ECTOPY_PER_10S)} per 10 s, >= 1, at most 1 beat in 3"),
    ClassDefinition(VPB, "VPB", "ventricular premature beats", "as 427172004 (same class)",
                    f"QRS {_r(QRS_PVC, 1000)} ms, {_r(ECTOPY_PER_10S)} per 10 s, >= 1"),
    ClassDefinition(LQT, "LQT", "prolonged QT interval",
                    "every beat's QT = QTc x sqrt(mean RR) (tangent-method T end)",
                    f"QTc {_r(QTC_LQT, 1000)} ms (normal {_r(QTC_NORMAL, 1000)} ms; a wide QRS "
                    "adds half its extra width, the QTc kept under 425 ms)"),
    ClassDefinition(TAB, "TAb", "T wave abnormal",
                    "T flat (<= 0.07 mV and <= 7 % of R in I, II, V4-V6) or biphasic (+/- or -/+) "
                    "in every lead; replaces a bundle branch block's secondary T; as real records "
                    "label it (the twin: Variability.tab_kinds), mostly low: the normal T made "
                    "smaller in I, II, V4-V6, V1-V2 kept",
                    "biphasic lobes 0.06-0.3 mV in I, II, V4-V6; low: 15-45 % of the normal T"),
    ClassDefinition(TINV, "TInv", "T wave inversion",
                    "T vector turned: inferior (II, III, aVF), lateral (I, aVL, V5, V6), anterior "
                    "(V1-V4) or diffuse (I, II, aVF, V2-V6) inversion",
                    "0.15 mV or deeper in the pattern's two key leads, 0.5 mV at most"),
    ClassDefinition(QAB, "QAb", "Q wave abnormal",
                    "a 40+ ms initial force away from an infarct: superior (Q in II, III, aVF) or "
                    "posterior (QS in V1-V3, Q in V4)", f"QRS {_r(QRS_QAB, 1000)} ms"),
    ClassDefinition(PRWP, "PRWP", "poor R wave progression",
                    "(scored from 2021) anterior forces shrunk (septal r smaller, main force turned posterior; limb "
                    "leads and axis unchanged): small r in V1-V4, deep S in V1-V3, transition at "
                    "V5 or V6", f"tallest R in V1-V4 {_r(PRWP_R)} mV (R in V3 <= 3 mm), r of "
                    "0.05 mV or more in each"),
    ClassDefinition(LQRSV, "LQRSV", "low QRS voltages",
                    "QRS scaled down (P and T too); axis kept near lead II",
                    f"largest limb-lead QRS {_r(LQRSV_LIMB)} mV, largest chest-lead "
                    f"{_r(LQRSV_CHEST)} mV peak-to-peak"),
)


def definitions_markdown() -> str:
    """The class definitions as a Markdown table (| class | code | generator | ranges |)."""
    rows = ["| class | code | generator | ranges |", "| --- | --- | --- | --- |"]
    rows += [f"| {d.abbreviation} ({d.name}) | {d.code} | {d.generator} | {d.ranges} |"
             for d in CLASS_DEFINITIONS]
    return "\n".join(rows) + "\n"
