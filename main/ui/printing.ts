// The UI prints through main/printing (createKioskPrinting(...).port()): one place builds documents from
// bills and sends them with proof of printing. The bill document is re-exported for older imports.
export { billDocument } from '../printing/printing.ts';
