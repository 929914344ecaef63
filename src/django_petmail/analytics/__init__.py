"""Analytics: reports per campaign, sequence step and subscriber, and revenue attribution."""
