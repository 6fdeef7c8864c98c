using System.Linq;

namespace FixedShapeAttention.Generators.Model;

/// <summary>
/// Where the annotated class lives: its namespace (empty for the global one) and the declarations that contain
/// it, outermost first, each as the keywords and name to re-open it with (for example "partial class Outer").
/// </summary>
internal sealed record TypeHierarchy(string Namespace, EquatableArray<string> ContainingTypes, string Name)
{
    /// <summary>"class" or "record": the keyword the annotated type is re-opened with.</summary>
    public string Keyword { get; init; } = "class";

    /// <summary>The fully qualified metadata-ish name used for hint names, e.g. <c>Demo.Outer.MiniLm</c>.</summary>
    public string HintPrefix
    {
        get
        {
            string containing = string.Join(".", ContainingTypes.AsSpan().ToArray().Select(LastWord));
            string prefix = Namespace.Length == 0 ? "" : Namespace + ".";
            return prefix + (containing.Length == 0 ? "" : containing + ".") + Name;
        }
    }

    private static string LastWord(string declaration)
    {
        int space = declaration.LastIndexOf(' ');
        string name = space < 0 ? declaration : declaration.Substring(space + 1);
        int generic = name.IndexOf('<');
        return generic < 0 ? name : name.Substring(0, generic);
    }
}
