// The job's status, which the standard `projects` API (id, number, displayName) does not carry: q2c stops
// booking time on a Completed job.
page 50102 "Q2C Jobs API"
{
    PageType = API;
    APIPublisher = 'q2c';
    APIGroup = 'integration';
    APIVersion = 'v1.0';
    EntityName = 'job';
    EntitySetName = 'jobs';
    EntityCaption = 'Job';
    EntitySetCaption = 'Jobs';
    SourceTable = Job;
    ODataKeyFields = SystemId;
    Editable = false;
    InsertAllowed = false;
    ModifyAllowed = false;
    DeleteAllowed = false;
    Extensible = false;

    layout
    {
        area(Content)
        {
            repeater(Records)
            {
                field(id; Rec.SystemId)
                {
                    Caption = 'Id';
                }
                field(number; Rec."No.")
                {
                    Caption = 'No.';
                }
                field(description; Rec.Description)
                {
                    Caption = 'Description';
                }
                field(status; Rec.Status)
                {
                    Caption = 'Status';
                }
                field(endingDate; Rec."Ending Date")
                {
                    Caption = 'Ending Date';
                }
                field(lastModifiedDateTime; Rec.SystemModifiedAt)
                {
                    Caption = 'Last Modified Date Time';
                }
            }
        }
    }
}
