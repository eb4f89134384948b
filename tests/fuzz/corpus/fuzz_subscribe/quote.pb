
agg."