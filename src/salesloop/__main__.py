from salesloop.cli import main

main()
