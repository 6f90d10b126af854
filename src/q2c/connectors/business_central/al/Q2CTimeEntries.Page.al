// q2c's rated time (one record per q2c time entry, found by externalId); each insert is posted to the job
// through a job journal line, so Business Central's job ledger holds q2c's hours at q2c's price.
page 50101 "Q2C Time Entries API"
{
    PageType = API;
    APIPublisher = 'q2c';
    APIGroup = 'integration';
    APIVersion = 'v1.0';
    EntityName = 'timeEntry';
    EntitySetName = 'timeEntries';
    EntityCaption = 'Time Entry';
    EntitySetCaption = 'Time Entries';
    SourceTable = "Q2C Time Entry";
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
                field(externalId; Rec."External Id")
                {
                    Caption = 'External Id';
                }
                field(jobNumber; Rec."Job No.")
                {
                    Caption = 'Job No.';
                }
                field(jobTaskNumber; Rec."Job Task No.")
                {
                    Caption = 'Job Task No.';
                }
                field(employeeNumber; Rec."Employee No.")
                {
                    Caption = 'Employee No.';
                }
                field(postingDate; Rec."Posting Date")
                {
                    Caption = 'Posting Date';
                }
                field(quantity; Rec.Quantity)
                {
                    Caption = 'Quantity';
                }
                field(unitPrice; Rec."Unit Price")
                {
                    Caption = 'Unit Price';
                }
                field(totalPrice; Rec."Total Price")
                {
                    Caption = 'Total Price';
                    Editable = false;
                }
                field(unitCost; Rec."Unit Cost")
                {
                    Caption = 'Unit Cost';
                }
                field(currencyCode; Rec."Currency Code")
                {
                    Caption = 'Currency Code';
                }
                field(chargeable; Rec.Chargeable)
                {
                    Caption = 'Chargeable';
                }
                field(description; Rec.Description)
                {
                    Caption = 'Description';
                }
                field(invoiced; Rec.Invoiced)
                {
                    Caption = 'Invoiced';
                    Editable = false;
                }
                field(serviceOffering; Rec."Service Offering")
                {
                    Caption = 'Service Offering';
                }
                field(legalEntity; Rec."Legal Entity")
                {
                    Caption = 'Legal Entity';
                }
                field(lastModifiedDateTime; Rec.SystemModifiedAt)
                {
                    Caption = 'Last Modified Date Time';
                    Editable = false;
                }
            }
        }
    }

    trigger OnInsertRecord(BelowxRec: Boolean): Boolean
    var
        Posting: Codeunit "Q2C Time Posting";
    begin
        Rec.Insert(true);
        Posting.Post(Rec);
        exit(false);
    end;
}
