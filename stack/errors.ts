/** A stack or project file that cannot be used, with the file and the reason. */
export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}
