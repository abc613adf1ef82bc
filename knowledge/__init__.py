"""The knowledge base: causes of numb legs, relief, diagnosis, prevention and red flags."""

from .errors import DataFileError, NumbLegsError
from .loader import knowledge_from_dict, knowledge_from_file, load_knowledge
from .model import CAUSE_IDS, RED_FLAG_IDS, Answer, Cause, KnowledgeBase, RedFlag
from .queries import RankedCause, rank_causes

__all__ = [
    "CAUSE_IDS", "RED_FLAG_IDS", "Answer", "Cause", "DataFileError", "KnowledgeBase",
    "NumbLegsError", "RankedCause", "RedFlag", "knowledge_from_dict", "knowledge_from_file",
    "load_knowledge", "rank_causes",
]
