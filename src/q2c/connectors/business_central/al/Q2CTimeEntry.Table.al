// q2c's rated time, one record per q2c time entry (External Id unique per company). Inserting it posts a
// job journal line (Type Resource) for the employee's resource, so the time lands in the Job Ledger Entry
// with q2c's price; the record keeps the ledger entry's number and whether that entry is invoiced.
table 50100 "Q2C Time Entry"
{
    Caption = 'q2c Time Entry';
    DataClassification = CustomerContent;

    fields
    {
        field(1; "External Id"; Text[50])
        {
            Caption = 'External Id';
            NotBlank = true;
        }
        field(2; "Job No."; Code[20])
        {
            Caption = 'Job No.';
            TableRelation = Job."No.";
        }
        field(3; "Job Task No."; Code[20])
        {
            Caption = 'Job Task No.';
            TableRelation = "Job Task"."Job Task No." where("Job No." = field("Job No."));
        }
        field(4; "Employee No."; Code[20])
        {
            Caption = 'Employee No.';
            TableRelation = Employee."No.";
        }
        field(5; "Posting Date"; Date)
        {
            Caption = 'Posting Date';
        }
        field(6; Quantity; Decimal)
        {
            Caption = 'Quantity';
            DecimalPlaces = 0 : 5;
        }
        field(7; "Unit Price"; Decimal)
        {
            Caption = 'Unit Price';
            AutoFormatType = 2;
        }
        field(8; "Total Price"; Decimal)
        {
            Caption = 'Total Price';
            AutoFormatType = 1;
            Editable = false;
        }
        field(9; "Unit Cost"; Decimal)
        {
            Caption = 'Unit Cost';
            AutoFormatType = 2;
        }
        field(10; "Currency Code"; Code[10])
        {
            Caption = 'Currency Code';
            TableRelation = Currency;
        }
        field(11; Chargeable; Boolean)
        {
            Caption = 'Chargeable';
            InitValue = true;
        }
        field(12; Description; Text[100])
        {
            Caption = 'Description';
        }
        field(13; Invoiced; Boolean)
        {
            Caption = 'Invoiced';
            FieldClass = FlowField;
            CalcFormula = exist("Job Ledger Entry" where("Entry No." = field("Job Ledger Entry No."),
                                                         "Amt. Posted to G/L" = filter(<> 0)));
            Editable = false;
        }
        field(14; "Service Offering"; Code[20])
        {
            Caption = 'Service Offering';
        }
        field(15; "Legal Entity"; Code[20])
        {
            Caption = 'Legal Entity';
        }
        field(16; "Job Ledger Entry No."; Integer)
        {
            Caption = 'Job Ledger Entry No.';
            Editable = false;
        }
    }

    keys
    {
        key(PK; "External Id")
        {
            Clustered = true;
        }
        key(Job; "Job No.", "Job Task No.", "Posting Date") { }
    }

    trigger OnInsert()
    begin
        Rec."Total Price" := Round(Rec.Quantity * Rec."Unit Price");
    end;

    trigger OnModify()
    begin
        Rec.CalcFields(Invoiced);
        if Rec.Invoiced then
            Error(InvoicedErr, Rec."External Id");
        Rec."Total Price" := Round(Rec.Quantity * Rec."Unit Price");
    end;

    var
        InvoicedErr: Label 'Time entry %1 is invoiced and cannot be changed.', Comment = '%1 = q2c time entry id';
}
