"""Lead order, the SNOMED CT codes of the scored classes and the model's parameter ranges."""

from __future__ import annotations

LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")

# SNOMED CT codes of the 27 scored diagnoses of 2020 ...
IAVB, AF, AFL, BRADY = "270492004", "164889003", "164890007", "426627000"
CRBBB, IRBBB, LANFB, LAD = "713427006", "713426002", "445118002", "39732003"
LBBB, LQRSV, NSIVCB, PACING = "164909002", "251146004", "698252002", "10370003"
PAC, PVC, LPR, LQT = "284470004", "427172004", "164947007", "111975006"
QAB, RAD, RBBB, SA = "164917005", "47665007", "59118001", "427393009"
SB, NSR, STACH, SVPB = "426177001", "426783006", "427084000", "63593006"
TAB, TINV, VPB = "164934002", "59931005", "17338001"
# ... and the three 2021 adds (CLBBB scored with LBBB): 30 codes, 26 classes.
BBB, CLBBB, PRWP = "6374002", "733534002", "365413008"

# Parameter ranges (seconds, bpm, degrees, mV), drawn uniformly per record. Each sits inside
# the clinical definition with a margin, so that a measurement of the signal agrees with it.
RATE_NSR, RATE_SB = (62.0, 98.0), (44.0, 57.0)
RATE_BRADY, RATE_STACH = (44.0, 54.0), (104.0, 148.0)
RATE_AF, RATE_AF_BRADY = (70.0, 140.0), (44.0, 54.0)
RATE_PACED, RATE_PACED_BRADY = (60.0, 80.0), (45.0, 54.0)
FLUTTER_RATE = (255.0, 300.0)  # atrial, per minute
PR_NORMAL, PR_STACH, PR_IAVB, PR_LPR = (0.135, 0.19), (0.12, 0.16), (0.225, 0.34), (0.22, 0.28)
QRS_NORMAL, QRS_IRBBB, QRS_RBBB = (0.082, 0.102), (0.103, 0.112), (0.125, 0.16)
QRS_LBBB, QRS_NSIVCB = (0.135, 0.17), (0.122, 0.15)
QRS_PVC, QRS_PACED = (0.14, 0.18), (0.145, 0.18)
QRS_QAB = (0.095, 0.108)
QRS_BBB = (0.125, 0.155)
PRWP_R = (0.08, 0.2)  # the tallest R in V1-V4 with poor R-wave progression (mV)
QTC_NORMAL, QTC_LQT = (0.37, 0.425), (0.48, 0.55)
AXIS_NORMAL, AXIS_LAD = (-15.0, 85.0), (-80.0, -45.0)
AXIS_LANFB, AXIS_RAD = (-78.0, -55.0), (100.0, 140.0)
P_AMP_II, P_MAX = (0.08, 0.2), 0.2
F_WAVE_HZ, F_WAVE_V1 = (5.5, 8.5), (0.04, 0.1)
FLUTTER_P2P = (0.18, 0.25)
AF_CV, AF_MIN_RR = (0.16, 0.28), 0.36
SA_DEPTH, SA_PERIOD = (0.08, 0.15), (3.0, 6.0)
ECTOPY_PER_10S = (1.0, 4.0)
COUPLING = (0.55, 0.8)
LQRSV_LIMB, LQRSV_CHEST = (0.26, 0.42), (0.45, 0.85)
SPIKE_MV = (1.6, 5.0)
