import itertools

STEPS = ["stock", "payment", "shipping"]


class Orchestrator:
    """A durable log, but request ids from a counter that restarts with the orchestrator."""

    def __init__(self, log, services):
        self.log = log
        self.services = services
        self.ids = itertools.count()

    def start(self, saga_id, order):
        with self.log.transaction():
            sagas = self.log.get("sagas", [])
            if saga_id not in sagas:
                self.log.put(("saga", saga_id), ("forward", 0))
                self.log.put("sagas", [*sagas, saga_id])

    def tick(self):
        for saga_id in self.log.get("sagas", []):
            direction, done = self.log.get(("saga", saga_id))
            while True:
                if direction == "forward":
                    if done == len(STEPS):
                        break
                    answer = self.services.do(STEPS[done], saga_id, next(self.ids))
                    if answer == "timeout":
                        break
                    direction, done = ("forward", done + 1) if answer == "ok" else ("back", done)
                else:
                    if done == 0:
                        break
                    if self.services.undo(STEPS[done - 1], saga_id, next(self.ids)) == "timeout":
                        break
                    done -= 1
                self.log.put(("saga", saga_id), (direction, done))
