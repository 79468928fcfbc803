"""The store's contract suite: every promise of desk.store.contract.Store, once, over every store."""
