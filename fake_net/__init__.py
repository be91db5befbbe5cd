"""fake_net: the deterministic simulated network (work in progress).

This package will implement asyncore_sim's I/O seam (``asyncore_sim._netctx``)
with virtual hosts, scripted and seeded faults and a virtual clock.  Nothing
is exported yet; see the project's open issue on fake_net.
"""

__all__: list = []
