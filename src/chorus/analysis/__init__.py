"""Analysis by discipline: retrieval, boolean queries, matrices, talk share, group dynamics, co-occurrence, themes, agreement.

Every function returns a pandas DataFrame (or a dict of them).
"""

from chorus.analysis.agreement import agreement, comparison, consensus, disagreements, segment_agreement
from chorus.analysis.dynamics import Dynamics, dynamics, gini
from chorus.analysis.matrix import cooccurrence, matrix, sample, talk_share, talk_shares, turn_table
from chorus.analysis.saturation import guest_saturation, saturation
from chorus.analysis.segments import count_segments, query, segments
from chorus.analysis.themes import UNITS, Rule, by_unit, format_p, themes

__all__ = [
    "UNITS", "Dynamics", "Rule", "agreement", "by_unit", "comparison", "consensus", "cooccurrence", "count_segments", "disagreements", "dynamics", "format_p", "gini",
    "guest_saturation", "matrix",
    "query", "sample", "saturation", "segment_agreement", "segments", "talk_share", "talk_shares", "themes", "turn_table",
]
