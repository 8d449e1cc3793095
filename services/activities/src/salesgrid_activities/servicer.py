"""Thin gRPC servicer: proto ↔ use case translation, nothing else."""

from __future__ import annotations

import grpc

from salesgrid.activities.v1 import activities_pb2 as pb
from salesgrid.activities.v1 import activities_pb2_grpc as pb_grpc
from salesgrid_common.auth.principal import caller
from salesgrid_common.protos import to_timestamp
from salesgrid_activities.domain.tasks import Task
from salesgrid_activities.translate.daily_reports import comment_pb, counts_pb, report_pb, unit_policy_pb
from salesgrid_activities.translate.field_work import follow_up_pb, reading_of, visit_pb, when
from salesgrid_activities.usecases import ActivitiesUseCases

Ctx = grpc.aio.ServicerContext


class ActivitiesServicer(pb_grpc.ActivitiesServicer):
    def __init__(self, usecases: ActivitiesUseCases) -> None:
        self.uc = usecases

    def task_pb(self, task: Task) -> pb.Task:
        # Others' private entries show as busy time only.
        viewer = caller().subject_id
        hidden = task.private and viewer not in (task.assignee_id, task.creator_id)
        return pb.Task(
            id=task.task_id,
            creator_id=task.creator_id,
            assignee_id=task.assignee_id,
            org_path=task.org_path,
            title="" if hidden else task.title,
            description="" if hidden else task.description or "",
            start_at=to_timestamp(task.start_at),
            end_at=to_timestamp(task.end_at),
            due_at=to_timestamp(task.due_at),
            reminder_minutes=task.reminder_minutes,
            private=task.private,
            status=task.status.value,
            reject_reason=task.reject_reason or "",
            overdue=self.uc.is_overdue(task),
            created_at=to_timestamp(task.created_at),
            completed_at=to_timestamp(task.completed_at),
            version=task.version,
        )

    async def LogFollowUp(self, request: pb.LogFollowUpRequest, context: Ctx) -> pb.FollowUp:
        return follow_up_pb(
            await self.uc.log_follow_up(
                caller(),
                kind=request.kind,
                occurred_at=when(request, "occurred_at"),
                notes=request.notes,
                customer_id=request.customer_id,
                contact_id=request.contact_id,
                opportunity_id=request.opportunity_id,
                lead_id=request.lead_id,
                next_follow_up_on=request.next_follow_up_on,
            )
        )

    async def ListFollowUps(self, request: pb.ListFollowUpsRequest, context: Ctx) -> pb.ListFollowUpsResponse:
        page = await self.uc.list_follow_ups(
            caller(),
            customer_id=request.customer_id,
            lead_id=request.lead_id,
            owner_id=request.owner_id,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListFollowUpsResponse(
            follow_ups=[follow_up_pb(r) for r in page.items], next_page_token=page.next_token
        )

    async def CheckIn(self, request: pb.CheckInRequest, context: Ctx) -> pb.Visit:
        return visit_pb(await self.uc.check_in(caller(), customer_id=request.customer_id, reading=reading_of(request)))

    async def CheckOut(self, request: pb.CheckOutRequest, context: Ctx) -> pb.Visit:
        return visit_pb(await self.uc.check_out(caller(), visit_id=request.visit_id, reading=reading_of(request)))

    async def ListVisits(self, request: pb.ListVisitsRequest, context: Ctx) -> pb.ListVisitsResponse:
        page = await self.uc.list_visits(
            caller(),
            customer_id=request.customer_id,
            owner_id=request.owner_id,
            flagged_only=request.flagged_only,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListVisitsResponse(visits=[visit_pb(r) for r in page.items], next_page_token=page.next_token)

    async def CreateTask(self, request: pb.CreateTaskRequest, context: Ctx) -> pb.Task:
        return self.task_pb(
            await self.uc.create_task(
                caller(),
                assignee_id=request.assignee_id,
                title=request.title,
                description=request.description,
                start_at=when(request, "start_at"),
                end_at=when(request, "end_at"),
                due_at=when(request, "due_at"),
                reminder_minutes=list(request.reminder_minutes),
                private=request.private,
            )
        )

    async def AcceptTask(self, request: pb.AcceptTaskRequest, context: Ctx) -> pb.Task:
        return self.task_pb(await self.uc.accept_task(caller(), request.id))

    async def RejectTask(self, request: pb.RejectTaskRequest, context: Ctx) -> pb.Task:
        return self.task_pb(await self.uc.reject_task(caller(), request.id, request.reason))

    async def CompleteTask(self, request: pb.CompleteTaskRequest, context: Ctx) -> pb.Task:
        return self.task_pb(await self.uc.complete_task(caller(), request.id))

    async def ListTasks(self, request: pb.ListTasksRequest, context: Ctx) -> pb.ListTasksResponse:
        page = await self.uc.list_tasks(
            caller(),
            assignee_id=request.assignee_id,
            status=request.status,
            overdue_only=request.overdue_only,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListTasksResponse(tasks=[self.task_pb(r) for r in page.items], next_page_token=page.next_token)

    async def SubmitDailyReport(self, request: pb.SubmitDailyReportRequest, context: Ctx) -> pb.DailyReport:
        return report_pb(
            await self.uc.submit_daily_report(
                caller(),
                summary=request.summary,
                visit_ids=list(request.visit_ids),
                tomorrow_plan=request.tomorrow_plan,
                problems=request.problems,
            )
        )

    async def FalsifyDailyReport(self, request: pb.FalsifyDailyReportRequest, context: Ctx) -> pb.DailyReport:
        return report_pb(await self.uc.falsify_daily_report(caller(), request.id, request.comment))

    async def ListDailyReports(self, request: pb.ListDailyReportsRequest, context: Ctx) -> pb.ListDailyReportsResponse:
        page = await self.uc.list_daily_reports(
            caller(),
            owner_id=request.owner_id,
            from_date=request.from_date,
            to_date=request.to_date,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListDailyReportsResponse(reports=[report_pb(r) for r in page.items], next_page_token=page.next_token)

    async def GetDailyReportCompliance(
        self, request: pb.GetDailyReportComplianceRequest, context: Ctx
    ) -> pb.DailyReportCompliance:
        summary = await self.uc.compliance(caller(), request.from_date, request.to_date)
        return pb.DailyReportCompliance(
            reps=[counts_pb(rep, c) for rep, c in summary.per_rep.items()], team=counts_pb("", summary.team)
        )

    async def GetPolicyLedger(self, request: pb.GetPolicyLedgerRequest, context: Ctx) -> pb.PolicyLedger:
        ledgers = await self.uc.policy_ledger(caller(), request.from_date, request.to_date)
        return pb.PolicyLedger(
            reps=[
                pb.RepPolicyLedger(
                    rep_id=ledger.rep_id,
                    total=str(ledger.total.amount),
                    currency=ledger.total.currency,
                    lines=[
                        pb.PolicyLedgerLine(
                            infraction=line.infraction.value,
                            count=line.count,
                            unit_amount=str(line.unit_amount.amount),
                            amount=str(line.amount.amount),
                        )
                        for line in ledger.lines
                    ],
                )
                for ledger in ledgers
            ]
        )

    async def SetUnitPolicy(self, request: pb.SetUnitPolicyRequest, context: Ctx) -> pb.UnitPolicy:
        o = request.overrides
        values = {
            name: getattr(o, name)
            for name in (
                "check_in_radius_m",
                "report_deadline",
                "late_fine",
                "missing_fine",
                "falsified_fine",
                "currency",
            )
            if o.HasField(name)
        }
        row, policies = await self.uc.set_unit_policy(caller(), request.unit_id, values)
        return unit_policy_pb(request.unit_id, row, policies)

    async def GetUnitPolicy(self, request: pb.GetUnitPolicyRequest, context: Ctx) -> pb.UnitPolicy:
        row, policies = await self.uc.get_unit_policy(caller(), request.unit_id)
        return unit_policy_pb(request.unit_id, row, policies)

    async def AddReportComment(self, request: pb.AddReportCommentRequest, context: Ctx) -> pb.ReportComment:
        return comment_pb(await self.uc.add_report_comment(caller(), request.report_id, request.body))

    async def ListReportComments(
        self, request: pb.ListReportCommentsRequest, context: Ctx
    ) -> pb.ListReportCommentsResponse:
        rows = await self.uc.list_report_comments(caller(), request.report_id)
        return pb.ListReportCommentsResponse(comments=[comment_pb(r) for r in rows])

    async def GetCalendar(self, request: pb.GetCalendarRequest, context: Ctx) -> pb.Calendar:
        items = await self.uc.calendar(
            caller(),
            user_id=request.user_id,
            unit_id=request.unit_id,
            window_start=when(request, "window_start"),
            window_end=when(request, "window_end"),
        )
        return pb.Calendar(
            entries=[
                pb.CalendarEntry(
                    task_id=i.task_id,
                    owner_id=i.owner_id,
                    start=to_timestamp(i.start),
                    end=to_timestamp(i.end),
                    busy_only=i.busy_only,
                    title=i.title or "",
                    description=i.description or "",
                    status=i.status.value,
                )
                for i in items
            ]
        )
