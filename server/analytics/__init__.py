"""Analytics: rollups, their mergeable building blocks and the reports built on them."""
