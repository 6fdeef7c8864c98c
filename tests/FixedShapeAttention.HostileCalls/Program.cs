using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace FixedShapeAttention.HostileCalls;

/// <summary>
/// Runs every hostile case in order, each announced on stdout before it runs ("CASE id member | variant") and
/// concluded after ("DONE id outcome"), so that when the process dies the parent knows which call killed it.
/// Arguments: <c>--skip id,id,…</c> (cases that crashed an earlier run), <c>--list</c> (print the cases, run none).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        var skip = new HashSet<int>();
        int at = Array.IndexOf(args, "--skip");
        if (at >= 0 && at + 1 < args.Length)
        {
            skip.UnionWith(args[at + 1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
        }

        bool listOnly = args.Contains("--list");
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        (List<HostileCase> cases, List<string> skipped) = Catalog.Build();
        output.WriteLine($"TOTAL {cases.Count} cases, {cases.Select(c => c.Member).Distinct().Count()} members");
        foreach (string reason in skipped)
        {
            output.WriteLine($"SKIPPED {reason}");
        }

        var pool = new InstancePool();
        foreach (HostileCase c in cases)
        {
            if (listOnly || skip.Contains(c.Id))
            {
                if (listOnly)
                {
                    output.WriteLine($"CASE {c.Id} {c.Member.Name} | {c.Variant}");
                }

                continue;
            }

            output.WriteLine($"CASE {c.Id} {c.Member.Name} | {c.Variant}");
            long started = Stopwatch.GetTimestamp();
            string outcome = Run(c, pool);
            output.WriteLine($"DONE {c.Id} {outcome} ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms)");
        }

        output.WriteLine("END");
        return 0;
    }

    private static string Run(HostileCase c, InstancePool pool)
    {
        object? receiver = c.Receiver?.Make(pool);
        object?[] arguments = c.Arguments.Select(a => a.Make(pool)).ToArray();
        if (ReferenceEquals(receiver, ArgumentValue.Missing) || arguments.Any(a => ReferenceEquals(a, ArgumentValue.Missing)))
        {
            return "skipped (no such instance)";
        }

        if (c.Member.IsInstance && receiver is null && !c.Member.DeclaringType.IsByRefLike)
        {
            return "skipped (no receiver)";
        }

        try
        {
            object? result = c.Member.Invoke(receiver, arguments);
            if (result is not null && c.Member.Produces is Type produced && produced != typeof(void))
            {
                pool.Add(result, c.Member.Context, c.Baseline);
            }

            return "returned";
        }
        catch (Exception ex)
        {
            return "threw " + ex.GetType().Name;
        }
    }
}
