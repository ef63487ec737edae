"""A physiological 12-lead ECG model in which each scored Challenge class is visible (the 24
classes of 2020 and the 26 of 2021: 30 SNOMED CT codes).

The heart is a moving dipole ("vector loop"): every wave (P, the parts of the QRS, T, f and F
waves) is a 3-D vector times a Gaussian time course placed at each beat, projected onto the
Einthoven limb leads and the Dower precordial leads. A QRS is a sequence of activation forces
whose shape in each lead follows from the conduction class; its frontal axis (the direction of
the net QRS area) is solved for exactly. T is a single asymmetric wave (or two opposite lobes)
whose tangent-method end is placed at QRS onset + QT (Bazett), its direction and size chosen
among random candidates to meet the class's per-lead rules. Rhythm: sinus with respiratory
modulation, irregularly irregular atrial fibrillation, 2:1 or 4:1 flutter, pacing, premature
atrial and ventricular beats. All beats and leads are rendered at once (no Python loop over
beats or samples).

Lead II stays readable for an R-peak detector in every class: its QRS is at least 0.45 mV
(0.2-0.4 with low voltage), and its P, T, flutter and paced-T waves are at most 0.2-0.45 of
that QRS height. Rates below 44 bpm, flutter above 300 /min and premature beats closer than
0.36 s (PAC) / 0.4 s (PVC) to the previous beat are left out: NeuroKit2's detector, the
reference measurement, does not resolve them.

Where things are (lower modules never import higher ones):

* :mod:`.constants` -- lead order, SNOMED CT codes, parameter ranges;
* :mod:`.dipole` -- lead geometry (Einthoven, Dower), wave shapes, rendering;
* :mod:`.noise` -- recording noise (:class:`NoiseProfile`);
* :mod:`.variability` -- a person's and recording's departures from the beat (:class:`Variability`);
* :mod:`.plan` -- labels -> what is generated, and the precedence when labels conflict;
* :mod:`.rhythm` -- beat timing: rate, RR series, premature beats, P-wave onsets;
* :mod:`.qrs` -- QRS morphology: axis, conduction classes, voltage, paced beats and PVCs;
* :mod:`.t_wave` -- QT, T-wave design per class, T rendering;
* :mod:`.atrial` -- AV timing, sinus and ectopic P waves, f and F waves;
* :mod:`.classes` -- the class definitions table (README);
* :mod:`.generate` -- :func:`generate_ecg` and the :class:`ECG` it returns.
"""

from __future__ import annotations

from ecgtricks.synth.ecg.classes import CLASS_DEFINITIONS, ClassDefinition, definitions_markdown
from ecgtricks.synth.ecg.constants import (
    AF,
    AF_CV,
    AF_MIN_RR,
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
    LEADS,
    LPR,
    LQRSV,
    LQRSV_CHEST,
    LQRSV_LIMB,
    LQT,
    NSIVCB,
    NSR,
    P_AMP_II,
    P_MAX,
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
    QRS_NORMAL,
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
from ecgtricks.synth.ecg.generate import ECG, generate_ecg
from ecgtricks.synth.ecg.noise import NoiseProfile
from ecgtricks.synth.ecg.variability import (
    AXIS_SD_REAL,
    QRS_LOOP_REAL,
    SINUS_RATE,
    T_LEAD_GAIN,
    TAB_KINDS_REAL,
    Variability,
    draw_qrs_loop,
    draw_variability,
    log_uniform,
)

__all__ = [
    "ECG",
    "NoiseProfile",
    "AXIS_SD_REAL",
    "QRS_LOOP_REAL",
    "SINUS_RATE",
    "T_LEAD_GAIN",
    "TAB_KINDS_REAL",
    "Variability",
    "draw_qrs_loop",
    "draw_variability",
    "log_uniform",
    "generate_ecg",
    "ClassDefinition",
    "CLASS_DEFINITIONS",
    "definitions_markdown",
    "LEADS",
    "IAVB",
    "AF",
    "AFL",
    "BBB",
    "BRADY",
    "CLBBB",
    "CRBBB",
    "IRBBB",
    "LANFB",
    "LAD",
    "LBBB",
    "LQRSV",
    "NSIVCB",
    "PACING",
    "PAC",
    "PRWP",
    "PVC",
    "LPR",
    "LQT",
    "QAB",
    "RAD",
    "RBBB",
    "SA",
    "SB",
    "NSR",
    "STACH",
    "SVPB",
    "TAB",
    "TINV",
    "VPB",
    "RATE_NSR",
    "RATE_SB",
    "RATE_BRADY",
    "RATE_STACH",
    "RATE_AF",
    "RATE_AF_BRADY",
    "RATE_PACED",
    "RATE_PACED_BRADY",
    "FLUTTER_RATE",
    "PR_NORMAL",
    "PR_STACH",
    "PR_IAVB",
    "PR_LPR",
    "QRS_NORMAL",
    "QRS_IRBBB",
    "QRS_RBBB",
    "QRS_LBBB",
    "QRS_NSIVCB",
    "QRS_PVC",
    "QRS_PACED",
    "QRS_QAB",
    "QRS_BBB",
    "QTC_NORMAL",
    "QTC_LQT",
    "AXIS_NORMAL",
    "AXIS_LAD",
    "AXIS_LANFB",
    "AXIS_RAD",
    "P_AMP_II",
    "P_MAX",
    "F_WAVE_HZ",
    "F_WAVE_V1",
    "FLUTTER_P2P",
    "AF_CV",
    "AF_MIN_RR",
    "SA_DEPTH",
    "SA_PERIOD",
    "ECTOPY_PER_10S",
    "COUPLING",
    "LQRSV_LIMB",
    "LQRSV_CHEST",
    "SPIKE_MV",
    "PRWP_R",
]
