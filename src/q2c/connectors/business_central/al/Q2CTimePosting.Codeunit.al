// Posts one q2c time entry to its job: a job journal line of type Resource (the employee's resource) with
// q2c's quantity and unit price, posted at once; the entry keeps the job ledger entry's number.
codeunit 50100 "Q2C Time Posting"
{
    Permissions = tabledata "Q2C Time Entry" = rm;

    procedure Post(var TimeEntry: Record "Q2C Time Entry")
    var
        Employee: Record Employee;
        JobJournalLine: Record "Job Journal Line";
        JobLedgerEntry: Record "Job Ledger Entry";
        JobJnlPostLine: Codeunit "Job Jnl.-Post Line";
    begin
        Employee.Get(TimeEntry."Employee No.");
        Employee.TestField("Resource No.");
        JobJournalLine.Init();
        JobJournalLine.Validate("Job No.", TimeEntry."Job No.");
        JobJournalLine.Validate("Job Task No.", TimeEntry."Job Task No.");
        JobJournalLine.Validate("Posting Date", TimeEntry."Posting Date");
        JobJournalLine."Document No." := CopyStr(TimeEntry."External Id", 1, MaxStrLen(JobJournalLine."Document No."));
        JobJournalLine."External Document No." := CopyStr(TimeEntry."External Id", 1,
            MaxStrLen(JobJournalLine."External Document No."));
        JobJournalLine.Validate(Type, JobJournalLine.Type::Resource);
        JobJournalLine.Validate("No.", Employee."Resource No.");
        JobJournalLine.Validate(Quantity, TimeEntry.Quantity);
        JobJournalLine.Validate("Unit Cost", TimeEntry."Unit Cost");
        JobJournalLine.Validate("Unit Price", TimeEntry."Unit Price");
        if TimeEntry.Chargeable then
            JobJournalLine.Validate("Line Type", JobJournalLine."Line Type"::Billable);
        JobJournalLine.Description := TimeEntry.Description;
        JobJnlPostLine.RunWithCheck(JobJournalLine);
        JobLedgerEntry.SetRange("External Document No.", JobJournalLine."External Document No.");
        JobLedgerEntry.FindLast();
        TimeEntry."Job Ledger Entry No." := JobLedgerEntry."Entry No.";
        TimeEntry.Modify();
    end;
}
