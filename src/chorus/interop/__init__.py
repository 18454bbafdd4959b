"""Exchange with MAXQDA, NVivo, ATLAS.ti and QualCoder through REFI-QDA: QDPX projects, QDC codebooks."""

from chorus.interop.codebooks import CODEBOOK_FILES, codebook_changes, import_codebook_file
from chorus.interop.export import ExportSummary, export_qdc, export_qdpx
from chorus.interop.load import ImportReport, NeedsDiscipline, import_qdc, import_qdpx
from chorus.interop.safety import Limits

__all__ = [
    "CODEBOOK_FILES",
    "ExportSummary",
    "ImportReport",
    "Limits",
    "NeedsDiscipline",
    "codebook_changes",
    "export_qdc",
    "export_qdpx",
    "import_codebook_file",
    "import_qdc",
    "import_qdpx",
]
