// Job tasks of a job, which API v2.0 does not expose: q2c creates one Posting task per task template of the
// service offering sold, and time is booked on it.
page 50100 "Q2C Job Tasks API"
{
    PageType = API;
    APIPublisher = 'q2c';
    APIGroup = 'integration';
    APIVersion = 'v1.0';
    EntityName = 'jobTask';
    EntitySetName = 'jobTasks';
    EntityCaption = 'Job Task';
    EntitySetCaption = 'Job Tasks';
    SourceTable = "Job Task";
    DelayedInsert = true;
    ODataKeyFields = SystemId;
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
                field(jobNumber; Rec."Job No.")
                {
                    Caption = 'Job No.';
                }
                field(jobTaskNumber; Rec."Job Task No.")
                {
                    Caption = 'Job Task No.';
                }
                field(description; Rec.Description)
                {
                    Caption = 'Description';
                }
                field(jobTaskType; Rec."Job Task Type")
                {
                    Caption = 'Job Task Type';
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
