"""One module per deployable stack of the landing zone."""
