"""``bestnext replay``: the same engine on a virtual clock that a driver moves forward."""
