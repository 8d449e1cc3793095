"""Stage models and forecast buckets -> proto."""

from __future__ import annotations

from salesgrid.pipeline.v1 import pipeline_pb2 as pb
from salesgrid_pipeline.domain.forecast import ForecastBucket
from salesgrid_pipeline.domain.stage_model import StageModel


def bucket_pb(bucket: ForecastBucket) -> pb.ForecastBucket:
    return pb.ForecastBucket(
        key=bucket.key,
        month=bucket.month,
        currency=bucket.currency,
        count=bucket.count,
        amount=str(bucket.amount),
        weighted_amount=str(bucket.weighted_amount),
        won_amount=str(bucket.won_amount),
        commit_amount=str(bucket.commit_amount),
        best_case_amount=str(bucket.best_case_amount),
        pipeline_amount=str(bucket.pipeline_amount),
    )


def stage_model_pb(model: StageModel) -> pb.StageModel:
    return pb.StageModel(
        code=model.code,
        name=model.name,
        entry_stage=model.entry_stage_code,
        stages=[
            pb.Stage(
                code=s.code,
                name=s.name,
                probability=s.probability,
                sla_days=s.sla_days or 0,
                skippable=s.skippable,
                outcome=s.outcome.value if s.outcome else "",
                required_facts=[
                    pb.FactSpec(
                        code=f.code,
                        name=f.name,
                        type=f.type.value,
                        min_count=f.min_count,
                        visit_kinds=sorted(k.value for k in f.visit_kinds),
                    )
                    for f in s.required_facts
                ],
                required_custom_fields=list(s.required_custom_fields),
            )
            for s in model.stages
        ],
    )
