"""Exchange with MAXQDA, NVivo, ATLAS.ti and QualCoder through REFI-QDA: QDPX projects, QDC codebooks."""

from chorus.interop.export import ExportSummary, export_qdc, export_qdpx
from chorus.interop.load import ImportReport, NeedsDiscipline, import_qdc, import_qdpx
from chorus.interop.safety import Limits

__all__ = [
    "ExportSummary",
    "ImportReport",
    "Limits",
    "NeedsDiscipline",
    "export_qdc",
    "export_qdpx",
    "import_qdc",
    "import_qdpx",
]
