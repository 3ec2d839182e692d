"""The cluster: instances sharing one database, one leader at a time, checks shared out.

`membership` registers this instance and reads who else is alive; `sharding`
decides (pure) which checks this instance probes for its location; `leader` holds
the lease whose fencing epoch every leader-only transaction checks; `retention`
is the leader's pruning.
"""
