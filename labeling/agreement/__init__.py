"""Inter-annotator agreement statistics: pure functions over plain Python data.

No Django and no numpy here, so a Celery job can call them on rows it has already loaded, and
the product's runtime dependencies stay as they are. Every statistic is ``None`` where it is
undefined (no items, one rater, no variance), never NaN and never a ZeroDivisionError.
"""

from labeling.agreement._matching import F1Score, MatchReport
from labeling.agreement.boxes import Box, box_agreement, iou
from labeling.agreement.icc import IccResult, icc
from labeling.agreement.krippendorff import Level, ReliabilityData, krippendorff_alpha
from labeling.agreement.nominal import (
    KappaWeights,
    Units,
    cohen_kappa,
    fleiss_kappa,
    fleiss_table,
    multi_rater_agreement,
    percent_agreement,
)
from labeling.agreement.pairwise import (
    Choice,
    PositionBias,
    PreferenceAgreement,
    ShownChoice,
    ShownJudgement,
    binomial_test_half,
    canonical_choice,
    position_bias,
    preference_agreement,
)
from labeling.agreement.spans import Span, SpanAgreement, span_agreement

__all__ = [
    "Box",
    "Choice",
    "F1Score",
    "IccResult",
    "KappaWeights",
    "Level",
    "MatchReport",
    "PositionBias",
    "PreferenceAgreement",
    "ReliabilityData",
    "ShownChoice",
    "ShownJudgement",
    "Span",
    "SpanAgreement",
    "Units",
    "binomial_test_half",
    "box_agreement",
    "canonical_choice",
    "cohen_kappa",
    "fleiss_kappa",
    "fleiss_table",
    "icc",
    "iou",
    "krippendorff_alpha",
    "multi_rater_agreement",
    "percent_agreement",
    "position_bias",
    "preference_agreement",
    "span_agreement",
]
