"""The elasticity supervisor: sheds NPC capacity while the node is short of CPU or memory."""

from tilemud.actors.elasticity._allowance import NpcAllowance as NpcAllowance
from tilemud.actors.elasticity._elasticity import Elasticity as Elasticity
from tilemud.actors.elasticity._elasticity import Thresholds as Thresholds
from tilemud.actors.elasticity._sampler import ProcessSampler as ProcessSampler
from tilemud.actors.elasticity._sampler import Sample as Sample
from tilemud.actors.elasticity._sampler import Sampler as Sampler
