"""From a record's labels to what the generator builds (:class:`Plan`).

Precedence when labels conflict (noted in ``ECG.truth['notes']`` for each record):
rhythm PR > AFL > AF > sinus (AF with AFL: flutter); sinus rate STach > SB/Brady > NSR;
Brady sets any rhythm's rate (AF 44-54, AFL 6:1 conduction, pacing 45-54); conduction LBBB
(or CLBBB, the same class) > RBBB > BBB (unspecified bundle branch block) > IRBBB, NSIVCB only
widens another block (with IRBBB: 116-119 ms); LAnFB and LAD win over RAD; TInv wins over TAb, TAb
over a bundle branch block's secondary T; paced beats show no intrinsic conduction, Q-wave, axis
or R-progression class except RAD (left-ventricular pacing) -- the default RV apical pacing has a
left-superior axis. PRWP (poor R-wave progression) shapes the conducted QRS of any conduction;
with RBBB the R' of V1-V3 stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecgtricks.synth.ecg.constants import (
    AF,
    AFL,
    BBB,
    BRADY,
    CLBBB,
    CRBBB,
    IAVB,
    IRBBB,
    LAD,
    LANFB,
    LBBB,
    LPR,
    LQRSV,
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
    PVC,
    QAB,
    RAD,
    RATE_BRADY,
    RATE_NSR,
    RATE_SB,
    RATE_STACH,
    RBBB,
    SA,
    SB,
    STACH,
    SVPB,
    TAB,
    TINV,
    VPB,
)


@dataclass
class Plan:
    """The classes a record shows, after the precedence rules (module docstring)."""

    rhythm: str = "sinus"  # sinus | af | afl | paced
    rate: tuple[float, float] = RATE_NSR
    sa: bool = False
    brady: bool = False
    pr: tuple[float, float] | None = PR_NORMAL
    conduction: str = "normal"  # normal | rbbb | irbbb | lbbb | bbb
    nsivcb: bool = False
    lanfb: bool = False
    axis_class: str = "normal"  # normal | lad | rad
    pac: bool = False
    pvc: bool = False
    lqt: bool = False
    tab: bool = False
    tinv: bool = False
    qab: bool = False
    lqrsv: bool = False
    prwp: bool = False
    notes: list[str] = field(default_factory=list)


def plan_for(codes: set[str]) -> Plan:
    """The plan of a record with these SNOMED CT codes (unknown codes are ignored)."""
    p = Plan()
    _rhythm(p, codes)
    _conduction(p, codes)
    p.pac = bool(codes & {PAC, SVPB})
    p.pvc = bool(codes & {PVC, VPB})
    p.lqt, p.tab, p.tinv = LQT in codes, TAB in codes, TINV in codes
    p.qab, p.lqrsv = QAB in codes, LQRSV in codes
    p.prwp = PRWP in codes
    if p.tab and p.tinv:
        p.notes.append("TAb with TInv: the inversion is the T abnormality")
    elif p.tab and p.conduction in ("rbbb", "lbbb", "bbb"):
        p.notes.append("TAb with a bundle branch block: flat or biphasic T, not the secondary one")
    if p.rhythm == "paced" and (p.conduction != "normal" or p.nsivcb or p.lanfb or p.qab or p.prwp):
        p.notes.append("paced beats override the intrinsic QRS classes (seen in PACs only)")
    return p


def _rhythm(p: Plan, codes: set[str]) -> None:
    """Rhythm, rate range, sinus arrhythmia and PR range."""
    sinus_codes = codes & {NSR, SB, STACH, BRADY, SA}
    if PACING in codes:
        p.rhythm = "paced"
    elif AFL in codes:
        p.rhythm = "afl"
    elif AF in codes:
        p.rhythm = "af"
    if AF in codes and AFL in codes:
        p.notes.append("AF and AFL: flutter generated")
    if p.rhythm != "sinus" and sinus_codes - {BRADY}:
        p.notes.append(f"{p.rhythm} rhythm: sinus rate/variability codes ignored")
    p.brady = BRADY in codes
    if STACH in codes:
        p.rate = RATE_STACH
        if codes & {SB, BRADY}:
            p.notes.append("STach with SB/Brady: tachycardia generated")
    elif SB in codes and BRADY in codes:
        p.rate = (RATE_SB[0], RATE_BRADY[1])
    elif SB in codes:
        p.rate = RATE_SB
    elif BRADY in codes:
        p.rate = RATE_BRADY
    p.sa = SA in codes and p.rhythm == "sinus"
    if codes & {IAVB, LPR}:
        p.pr = (PR_IAVB[0], PR_LPR[1]) if {IAVB, LPR} <= codes else (
            PR_IAVB if IAVB in codes else PR_LPR)
    elif STACH in codes:
        p.pr = PR_STACH


def _conduction(p: Plan, codes: set[str]) -> None:
    """Intraventricular conduction and the axis class."""
    if codes & {LBBB, CLBBB}:
        p.conduction = "lbbb"
        if codes & {CRBBB, RBBB, IRBBB}:
            p.notes.append("LBBB with RBBB/IRBBB: LBBB morphology generated")
        if BBB in codes:
            p.notes.append("LBBB with BBB: LBBB morphology generated")
    elif codes & {CRBBB, RBBB}:
        p.conduction = "rbbb"
        if BBB in codes:
            p.notes.append("RBBB with BBB: RBBB morphology generated")
    elif BBB in codes:
        p.conduction = "bbb"
        if IRBBB in codes:
            p.notes.append("BBB with IRBBB: the unspecified bundle branch block generated")
    elif IRBBB in codes:
        p.conduction = "irbbb"
    p.nsivcb = NSIVCB in codes
    p.lanfb = LANFB in codes
    if p.lanfb or LAD in codes:
        p.axis_class = "lad"
        if RAD in codes:
            p.notes.append("RAD with LAD/LAnFB: left axis generated")
    elif RAD in codes:
        p.axis_class = "rad"
