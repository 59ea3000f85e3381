"""Policy engines, the ReAct agent and asynchronous trajectory collection on Ray."""
