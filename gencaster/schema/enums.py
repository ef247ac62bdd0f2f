"""GraphQL enums, built from the model enums so the two can never disagree."""

from __future__ import annotations

import graphene

from gencaster.authoring.lint import Severity as SeverityValues
from gencaster.engine.frontend import ButtonType as ButtonTypeValues
from gencaster.engine.frontend import CallbackAction as CallbackActionValues
from models import (
    CellType as CellTypeValues,
)
from models import (
    DoorType as DoorTypeValues,
)
from models import (
    GraphDetailTemplate as GraphDetailTemplateValues,
)
from models import (
    LogLevel as LogLevelValues,
)
from models import (
    PlaybackChoices as PlaybackChoicesValues,
)
from models import (
    StreamAssignmentPolicy as StreamAssignmentPolicyValues,
)

StreamAssignmentPolicy = graphene.Enum.from_enum(StreamAssignmentPolicyValues)
GraphDetailTemplate = graphene.Enum.from_enum(GraphDetailTemplateValues)
DoorType = graphene.Enum.from_enum(DoorTypeValues)
CellType = graphene.Enum.from_enum(CellTypeValues)
PlaybackChoices = graphene.Enum.from_enum(PlaybackChoicesValues)
LogLevel = graphene.Enum.from_enum(LogLevelValues)
ButtonType = graphene.Enum.from_enum(ButtonTypeValues)
CallbackAction = graphene.Enum.from_enum(CallbackActionValues)
DiagnosticSeverity = graphene.Enum.from_enum(
    SeverityValues,
    name="DiagnosticSeverity",
    description="How bad a lint diagnostic is: an ERROR breaks the walk",
)
