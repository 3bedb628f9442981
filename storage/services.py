"""The services one incoming message may use, by area, on one turn (one transaction the router commits).

Each area lives in its own module and implements its Protocol of bot/ports.py; this is only where they meet."""

from __future__ import annotations

from storage.broadcasts import Broadcasts
from storage.complaints import Complaints
from storage.hazards import Hazards
from storage.people import People
from storage.plans import Plans
from storage.reports import Reports
from storage.revisits import Revisits
from storage.risks import Risks
from storage.training import Training
from storage.turn import Turn
from storage.visits import Visits


class SqlServices:
    def __init__(self, turn: Turn) -> None:
        self.turn = turn
        self.people = People(turn)
        self.hazards = Hazards(turn)
        self.plans = Plans(turn)
        self.visits = Visits(turn)
        self.revisits = Revisits(turn)
        self.complaints = Complaints(turn)
        self.training = Training(turn)
        self.broadcasts = Broadcasts(turn)
        self.risks = Risks(turn)
        self.reports = Reports(turn)
