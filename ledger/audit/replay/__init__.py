"""Replays of each contract's state from its events alone, with the rules checked on the way.

Each replayer takes events in chain order (:meth:`on_event`), then lists the view
calls that show the contract's state (:meth:`views`) and compares their answers
with the replayed state (:meth:`compare`).
"""
