// Placeholder: DriftStatistics is being written (issue 7).
