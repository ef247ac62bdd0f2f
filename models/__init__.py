"""Tortoise models of Gencaster, one module per area."""

from models.story_graph import (
    AudioCell,
    CellType,
    DoorType,
    Edge,
    Graph,
    GraphDetailTemplate,
    Node,
    NodeDoor,
    PlaybackChoices,
    ScriptCell,
    StreamAssignmentPolicy,
)
from models.stream import (
    AudioFile,
    InstructionState,
    ListenerAttachment,
    LogLevel,
    ServerProcess,
    Stream,
    StreamInstruction,
    StreamLog,
    StreamPoint,
    StreamVariable,
    StreamWalk,
    TextToSpeech,
)
from models.users import Session, User

MODEL_MODULES = ["models.story_graph", "models.stream", "models.users"]

__all__ = [
    "MODEL_MODULES",
    "AudioCell",
    "AudioFile",
    "CellType",
    "DoorType",
    "Edge",
    "Graph",
    "GraphDetailTemplate",
    "InstructionState",
    "ListenerAttachment",
    "LogLevel",
    "Node",
    "NodeDoor",
    "PlaybackChoices",
    "ScriptCell",
    "ServerProcess",
    "Session",
    "Stream",
    "StreamAssignmentPolicy",
    "StreamInstruction",
    "StreamLog",
    "StreamPoint",
    "StreamVariable",
    "StreamWalk",
    "TextToSpeech",
    "User",
]
