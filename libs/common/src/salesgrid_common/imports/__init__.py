"""Bulk imports of CSV/XLSX files, shared by every service that imports records: the rules of a
file and a job's progress (model), reading a file row by row (files), receiving an upload
streamed over gRPC (upload), and the job tables and runner of a service without its own
(tables, jobs)."""
