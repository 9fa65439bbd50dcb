"""Reports on the stored history: support KPIs (``analytics.kpis``) and knowledge-base gaps
(``analytics.gaps``). Each module is imported on its own: the gaps report loads the embedding
model, the KPIs need only the database."""
