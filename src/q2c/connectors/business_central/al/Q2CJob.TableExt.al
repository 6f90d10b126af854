// q2c's id of the job, in its own case: the job's No. is a Code field (upper case, and a digest when q2c's id
// is longer than 20 characters), so reconciliation could not name the project a time entry is booked on
// without it. Written once when q2c sets the project up, through the extension's `jobs` page.
tableextension 50100 "Q2C Job" extends Job
{
    fields
    {
        field(50100; "Q2C Id"; Text[100])
        {
            Caption = 'q2c Id';
            DataClassification = SystemMetadata;
        }
    }
}
