// The job's status, which the standard `projects` API (id, number, displayName) does not carry: q2c stops
// booking time on a Completed job. And q2c's id of the job (the "Q2C Job" table extension), the one field
// q2c writes here.
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
    InsertAllowed = false;
    ModifyAllowed = true;
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
                    Editable = false;
                }
                field(number; Rec."No.")
                {
                    Caption = 'No.';
                    Editable = false;
                }
                field(description; Rec.Description)
                {
                    Caption = 'Description';
                    Editable = false;
                }
                field(status; Rec.Status)
                {
                    Caption = 'Status';
                    Editable = false;
                }
                field(endingDate; Rec."Ending Date")
                {
                    Caption = 'Ending Date';
                    Editable = false;
                }
                field(externalId; Rec."Q2C Id")
                {
                    Caption = 'q2c Id';
                }
                field(lastModifiedDateTime; Rec.SystemModifiedAt)
                {
                    Caption = 'Last Modified Date Time';
                    Editable = false;
                }
            }
        }
    }
}
